//! The names and prices the population draws from: employers, landlords, bills,
//! subscriptions, shops. Real UK chains where the Brain should know them; invented names for
//! people, small shops and the anomalies' merchants.

pub(super) const EMPLOYERS: &[&str] = &[
    "ACME LTD",
    "NORTHWIND TRADING",
    "GLOBEX UK LTD",
    "INITECH SERVICES",
    "BRIGHTWATER NHS TRUST",
    "KESTREL LOGISTICS",
    "HALFORD & CO",
    "MERIDIAN HOTELS",
];
pub(super) const CLIENTS: &[&str] =
    &["BLUE FERN DESIGN", "OAKRIDGE STUDIO", "P MORGAN", "TALLIS MEDIA"];
pub(super) const LANDLORDS: &[&str] =
    &["J SMITH", "HOMELET LETTINGS", "R PATEL", "FOXTONS LTD", "M KOWALSKI"];
pub(super) const LENDERS: &[&str] = &["NATIONWIDE BS", "HALIFAX", "SANTANDER UK"];
/// (description, lowest, highest monthly pence).
pub(super) const BILLS: &[(&str, i64, i64)] = &[
    ("DIRECT DEBIT BRITISH GAS", 6_000, 14_000),
    ("DIRECT DEBIT OCTOPUS ENERGY", 5_000, 15_000),
    ("DIRECT DEBIT THAMES WATER", 2_500, 4_500),
    ("DIRECT DEBIT VODAFONE LTD", 1_500, 4_500),
    ("DIRECT DEBIT EE LIMITED", 1_200, 4_000),
    ("DIRECT DEBIT BT GROUP PLC", 3_000, 5_500),
    ("DIRECT DEBIT SKY DIGITAL", 2_500, 8_000),
    ("DIRECT DEBIT ADMIRAL INSURANCE", 2_000, 6_000),
];
pub(super) const COUNCILS: &[&str] = &["LEEDS CITY COUNCIL", "BRISTOL CITY COUNCIL", "LB CAMDEN"];
/// (description, price in pence).
pub(super) const SUBSCRIPTIONS: &[(&str, i64)] = &[
    ("CARD PAYMENT TO NETFLIX.COM", 1_099),
    ("CARD PAYMENT TO SPOTIFY UK", 1_199),
    ("CARD PAYMENT TO DISNEY PLUS", 799),
    ("CARD PAYMENT TO AMAZON PRIME*UK", 899),
    ("CARD PAYMENT TO APPLE.COM/BILL", 299),
    ("CARD PAYMENT TO PUREGYM LTD", 2_499),
    ("CARD PAYMENT TO AUDIBLE UK", 799),
];
pub(super) const SUPERMARKETS: &[&str] = &[
    "TESCO STORES",
    "SAINSBURYS S/MKT",
    "ASDA STORES",
    "ALDI STORES",
    "LIDL GB",
    "MORRISONS",
    "WAITROSE",
    "CO-OP GROUP",
];
pub(super) const COFFEE: &[&str] = &["COSTA COFFEE", "STARBUCKS", "PRET A MANGER", "CAFFE NERO"];
pub(super) const EATING: &[&str] =
    &["NANDOS", "WAGAMAMA", "PIZZA EXPRESS", "JUST EAT", "DELIVEROO", "GREGGS", "MCDONALDS"];
pub(super) const SHOPS: &[&str] =
    &["AMAZON.CO.UK", "ARGOS", "BOOTS", "JOHN LEWIS", "PRIMARK", "IKEA", "H&M"];
pub(super) const TAIL: &[&str] = &[
    "THE OLD BOOKSHOP",
    "CORNER HARDWARE",
    "BLOOM FLORIST",
    "RIVERSIDE GARAGE",
    "LUNA GIFTS",
    "PARKSIDE DELI",
    "ATLAS CYCLES",
    "NORTH STAR BARBERS",
    "KILN POTTERY",
    "ORCHARD FARM SHOP",
];
pub(super) const ABROAD: &[(&str, &str)] = &[
    ("ES", "RESTAURANTE EL FARO MALAGA"),
    ("FR", "BRASSERIE DU PORT NICE"),
    ("IT", "TRATTORIA DA LUCA ROMA"),
    ("PT", "PASTELARIA BELEM LISBOA"),
    ("GR", "TAVERNA NIKOS CHANIA"),
];
pub(super) const NIGHT: &[(&str, &str)] = &[
    ("US", "ONLINE GIFTCARDS LLC"),
    ("NG", "LAGOS DIGITAL SERVICES"),
    ("RU", "MSK TRADE OOO"),
    ("BR", "LOJA VIRTUAL SP"),
    ("TR", "ISTANBUL ELEKTRONIK"),
    ("RO", "BUC PAY SRL"),
    ("AE", "DXB LUXURY FZE"),
];
pub(super) const BURST: &[&str] =
    &["QUICKBUY ONLINE", "GAMEPOINTS STORE", "TOPUP WORLD", "FASTVOUCHER", "MEGADEAL SHOP"];
