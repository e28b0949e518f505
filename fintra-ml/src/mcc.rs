//! The MCC fallback: ISO 18245 merchant category codes (as card networks send them) mapped to
//! the taxonomy. Ranges first-match, in order.

/// (first code, last code, detailed category).
const TABLE: &[(u16, u16, &str)] = &[
    (742, 742, "shopping.pets"),
    (3000, 3299, "travel.flights"),
    (3351, 3441, "travel.car_rental"),
    (3501, 3999, "travel.lodging"),
    (4111, 4111, "transport.public"),
    (4112, 4112, "travel.rail_coach"),
    (4121, 4121, "transport.taxi"),
    (4131, 4131, "travel.rail_coach"),
    (4411, 4411, "travel.other"),
    (4511, 4511, "travel.flights"),
    (4582, 4582, "travel.other"),
    (4722, 4722, "travel.agency"),
    (4784, 4784, "transport.tolls"),
    (4789, 4789, "transport.public"),
    (4812, 4812, "shopping.electronics"),
    (4814, 4814, "bills.mobile"),
    (4816, 4816, "bills.internet"),
    (4899, 4899, "bills.tv_licence"),
    (4900, 4900, "bills.energy"),
    (5045, 5045, "shopping.electronics"),
    (5192, 5192, "shopping.books"),
    (5200, 5261, "shopping.home_garden"),
    (5300, 5300, "shopping.department_store"),
    (5309, 5309, "shopping.department_store"),
    (5310, 5310, "shopping.discount"),
    (5311, 5311, "shopping.department_store"),
    (5331, 5331, "shopping.discount"),
    (5399, 5399, "shopping.department_store"),
    (5411, 5411, "groceries.supermarket"),
    (5422, 5462, "groceries.specialty"),
    (5499, 5499, "groceries.convenience"),
    (5541, 5542, "transport.fuel"),
    (5552, 5552, "transport.ev_charging"),
    (5511, 5599, "transport.vehicle_maintenance"),
    (5611, 5699, "shopping.clothing"),
    (5712, 5722, "shopping.home_garden"),
    (5732, 5735, "shopping.electronics"),
    (5811, 5812, "eating_out.restaurant"),
    (5813, 5813, "eating_out.bar"),
    (5814, 5814, "eating_out.fast_food"),
    (5815, 5815, "subscriptions.video"),
    (5816, 5816, "entertainment.gaming"),
    (5817, 5818, "subscriptions.software"),
    (5912, 5912, "health.pharmacy"),
    (5921, 5921, "groceries.alcohol"),
    (5931, 5932, "shopping.second_hand"),
    (5940, 5941, "shopping.sports"),
    (5942, 5943, "shopping.books"),
    (5945, 5945, "shopping.kids"),
    (5946, 5946, "shopping.electronics"),
    (5947, 5947, "shopping.gifts"),
    (5960, 5960, "bills.other"),
    (5968, 5968, "subscriptions.memberships"),
    (5964, 5969, "shopping.marketplace"),
    (5970, 5971, "entertainment.hobbies"),
    (5975, 5976, "health.medical"),
    (5977, 5977, "health.personal_care"),
    (5992, 5992, "shopping.gifts"),
    (5994, 5994, "subscriptions.news"),
    (5995, 5995, "shopping.pets"),
    (5999, 5999, "shopping.other"),
    (6010, 6011, "cash.withdrawal"),
    (6012, 6012, "transfers.other"),
    (6051, 6051, "investments.crypto"),
    (6211, 6211, "investments.brokerage"),
    (6300, 6300, "bills.other"),
    (6513, 6513, "housing.rent"),
    (6540, 6540, "transfers.wallet_topup"),
    (7011, 7012, "travel.lodging"),
    (7210, 7217, "services.other"),
    (7230, 7230, "health.personal_care"),
    (7297, 7298, "health.personal_care"),
    (7512, 7519, "travel.car_rental"),
    (7523, 7523, "transport.parking"),
    (7531, 7549, "transport.vehicle_maintenance"),
    (7832, 7832, "entertainment.cinema_theatre"),
    (7841, 7841, "subscriptions.video"),
    (7911, 7911, "entertainment.hobbies"),
    (7922, 7922, "entertainment.cinema_theatre"),
    (7929, 7941, "entertainment.events"),
    (7991, 7991, "entertainment.attractions"),
    (7994, 7994, "entertainment.gaming"),
    (7995, 7995, "entertainment.gambling"),
    (7996, 7996, "entertainment.attractions"),
    (7997, 7997, "health.fitness"),
    (7998, 7999, "entertainment.attractions"),
    (8011, 8011, "health.medical"),
    (8021, 8021, "health.dental"),
    (8031, 8041, "health.medical"),
    (8042, 8043, "health.optical"),
    (8049, 8099, "health.medical"),
    (8111, 8111, "services.professional"),
    (8211, 8299, "services.education"),
    (8351, 8351, "services.childcare"),
    (8398, 8398, "government.donations"),
    (8651, 8661, "government.donations"),
    (8931, 8931, "services.professional"),
    (9211, 9223, "government.fines"),
    (9311, 9311, "government.tax"),
    (9399, 9399, "government.services"),
    (9402, 9402, "services.postage"),
    (9405, 9405, "government.services"),
    (9406, 9406, "entertainment.gambling"),
];

/// The detailed category for a merchant category code, if the table knows it.
pub fn category(mcc: u16) -> Option<&'static str> {
    TABLE.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&mcc)).map(|(_, _, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::Taxonomy;

    #[test]
    fn every_mapping_is_in_the_taxonomy() {
        let t = Taxonomy::builtin();
        assert!(TABLE.iter().all(|(lo, hi, c)| lo <= hi && t.contains(c)));
        assert_eq!(category(5411), Some("groceries.supermarket"));
        assert_eq!(category(5542), Some("transport.fuel"));
        assert_eq!(category(3005), Some("travel.flights"));
        assert_eq!(category(5552), Some("transport.ev_charging"));
        assert_eq!(category(5968), Some("subscriptions.memberships"));
        assert_eq!(category(1), None);
    }
}
