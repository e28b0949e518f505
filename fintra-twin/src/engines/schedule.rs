//! When a recurring stream pays next: its period from the gaps, its usual day of the month,
//! how it moves off weekends, and the months it pauses in.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

use super::first_of_month;
use crate::fos::Frequency;

pub(super) fn nominal_days(frequency: Frequency) -> i64 {
    match frequency {
        Frequency::Weekly => 7,
        Frequency::Biweekly => 14,
        Frequency::FourWeekly => 28,
        Frequency::Monthly => 30,
        Frequency::Quarterly => 91,
        Frequency::Annual => 365,
    }
}

pub(super) fn classify_gap(days: i64) -> Option<(Frequency, i64)> {
    // (frequency, tolerance in days around the nominal gap)
    match days {
        5..=9 => Some((Frequency::Weekly, 1)),
        12..=16 => Some((Frequency::Biweekly, 3)),
        26..=35 => Some((Frequency::Monthly, 4)),
        84..=98 => Some((Frequency::Quarterly, 7)),
        350..=380 => Some((Frequency::Annual, 10)),
        _ => None,
    }
}

pub(super) fn next_after(last: NaiveDate, frequency: Frequency) -> Option<NaiveDate> {
    match frequency {
        Frequency::Monthly => last.checked_add_months(Months::new(1)),
        Frequency::Quarterly => last.checked_add_months(Months::new(3)),
        Frequency::Annual => last.checked_add_months(Months::new(12)),
        other => last.checked_add_signed(Duration::days(nominal_days(other))),
    }
}

/// How a stream's payments move off a weekend: to the working day before (salaries), after
/// (direct debits), or not at all (card subscriptions charge on Sundays too). The majority of
/// its history decides; a history with a weekend payment, or with no moved payment, does not
/// move.
fn weekend_move(dates: &[NaiveDate], anchor_day: u32) -> Option<bool> {
    if dates.iter().any(|d| is_weekend(*d)) {
        return None;
    }
    let (mut back, mut forward) = (0, 0);
    for d in dates {
        let day = d.day();
        if day == anchor_day {
            continue;
        }
        // Within three days of the anchor, on either side, across a month end too.
        let month_len = last_day_of_month(*d);
        let after = (day + month_len - anchor_day.min(month_len)) % month_len;
        if after <= 3 {
            forward += 1;
        } else if month_len - after <= 3 {
            back += 1;
        }
    }
    match (back, forward) {
        (0, 0) => None,
        _ => Some(back > forward),
    }
}

fn last_day_of_month(day: NaiveDate) -> u32 {
    first_of_month(day)
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `day` moved off a weekend, the way the stream's history moves it (`None`: not moved).
fn working_day(mut day: NaiveDate, back: Option<bool>) -> NaiveDate {
    let Some(back) = back else { return day };
    for _ in 0..3 {
        if !is_weekend(day) {
            break;
        }
        day = if back { day.pred_opt() } else { day.succ_opt() }.unwrap_or(day);
    }
    day
}

/// The most common day of the month among `dates`, the largest on a tie (a salary paid on the
/// 28th that sometimes moves to the 26th is a 28th-of-the-month salary).
fn anchor_day(dates: &[NaiveDate]) -> u32 {
    let mut counts = [0u32; 32];
    for d in dates {
        if let Some(c) = counts.get_mut(d.day() as usize) {
            *c += 1;
        }
    }
    (1..=31u32).rev().max_by_key(|d| counts.get(*d as usize).copied().unwrap_or(0)).unwrap_or(1)
}

/// The stream's next payment after `after`: calendar streams keep their usual day of the month
/// (clamped to short months) and move off weekends the way their history does; fixed-step
/// streams step from the last payment.
pub(super) fn next_payment(
    dates: &[NaiveDate],
    frequency: Frequency,
    after: NaiveDate,
) -> Option<NaiveDate> {
    let last = *dates.last()?;
    let months = match frequency {
        Frequency::Monthly => 1,
        Frequency::Quarterly => 3,
        Frequency::Annual => 12,
        other => {
            let step = Duration::days(nominal_days(other));
            let mut next = last.checked_add_signed(step)?;
            while next <= after {
                next = next.checked_add_signed(step)?;
            }
            return Some(next);
        }
    };
    let anchor = anchor_day(dates);
    let back = weekend_move(dates, anchor);
    let breaks = if months == 1 { break_months(dates) } else { [false; 12] };
    let mut month = first_of_month(last);
    for _ in 0..240 {
        month = month.checked_add_months(Months::new(months))?;
        if breaks[month.month0() as usize] {
            continue;
        }
        let day = month.with_day(anchor.min(last_day_of_month(month))).unwrap_or(month);
        let day = working_day(day, back);
        if day > last && day > after {
            return Some(day);
        }
    }
    None
}

/// Months of the year a monthly stream pauses in, learned from its last year: council tax in
/// ten instalments skips February and March. Needs a full year of the stream and at most
/// three months off. A payment counts for its own calendar month; a month without one is not
/// a pause when a neighbour holds two and one of them lies within three days of the shared
/// edge (a weekend move across a month end).
fn break_months(dates: &[NaiveDate]) -> [bool; 12] {
    let mut breaks = [false; 12];
    let (Some(first), Some(last)) = (dates.first(), dates.last()) else { return breaks };
    let Some(year_ago) = last.checked_sub_months(Months::new(12)) else { return breaks };
    if *first > year_ago + Duration::days(20) {
        return breaks;
    }
    let recent: Vec<NaiveDate> = dates.iter().copied().filter(|d| *d > year_ago).collect();
    let in_month = |m: NaiveDate| -> Vec<NaiveDate> {
        recent.iter().copied().filter(|d| first_of_month(*d) == m).collect()
    };
    let mut paid = [false; 12];
    let mut month = first_of_month(year_ago);
    while month <= *last {
        let Some(next) = month.checked_add_months(Months::new(1)) else { break };
        let Some(previous) = month.checked_sub_months(Months::new(1)) else { break };
        let moved_here = |neighbour: Vec<NaiveDate>| {
            neighbour.len() >= 2
                && neighbour.iter().any(|d| {
                    (*d - month).num_days().abs() <= 3 || (*d - next).num_days().abs() <= 3
                })
        };
        if !in_month(month).is_empty()
            || moved_here(in_month(previous))
            || moved_here(in_month(next))
        {
            paid[month.month0() as usize] = true;
        }
        month = next;
    }
    if paid.iter().filter(|p| **p).count() < 9 {
        return breaks;
    }
    for (b, p) in breaks.iter_mut().zip(paid) {
        *b = !p;
    }
    breaks
}

/// The payments a stream paid on `dates` (in order) will make after `after`, up to and
/// including `until`: what [`recurring_streams`](super::recurring_streams) expects, laid out for a forecast.
pub fn payment_schedule(
    dates: &[NaiveDate],
    frequency: Frequency,
    after: NaiveDate,
    until: NaiveDate,
) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut from = after;
    while let Some(next) = next_payment(dates, frequency, from) {
        if next > until || out.len() > 400 {
            break;
        }
        out.push(next);
        from = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn ten_instalments_pause_in_february_and_march() {
        let dates: Vec<NaiveDate> = (0..24u32)
            .map(|k| d(2023 + i32::try_from(k / 12).unwrap_or(0), k % 12 + 1, 1))
            .filter(|day| !matches!(day.month(), 2 | 3))
            .collect();
        let breaks = break_months(&dates);
        let paused: Vec<u32> = (1..=12u32).filter(|m| breaks[*m as usize - 1]).collect();
        assert_eq!(paused, [2, 3]);
        let next = next_payment(&dates, Frequency::Monthly, d(2025, 1, 15));
        assert_eq!(next, Some(d(2025, 4, 1)));
    }

    #[test]
    fn a_weekend_move_across_a_month_end_is_not_a_pause() {
        // Due on the 30th; November 2024's moved to Monday 2 December.
        let mut dates: Vec<NaiveDate> = (0..12u32)
            .map(|k| d(2024, k + 1, if k == 1 { 29 } else { 30 }))
            .filter(|day| day.month() != 11)
            .collect();
        dates.push(d(2024, 12, 2));
        dates.sort_unstable();
        assert_eq!(break_months(&dates), [false; 12]);
    }
}
