//! Order money (DOMAIN.md §4): what a line or a shipping line charges after its discount, its
//! taxes (computed from rates, or as the channel says), tax extracted from tax-included prices,
//! and the share of a line a shipment or a refund of some of its units takes.
//!
//! Rounding is half-even on minor units, per line and per tax line:
//! - tax added to prices: each tax line is `round(base × rate)`;
//! - tax included in prices: the line's tax is `round(base × R / (1 + R))` with `R` the sum of
//!   its rates, split between its tax lines by largest remainder, so the tax lines add up to
//!   the line's tax exactly;
//! - when the source states the order's total tax, the cents between it and the sum of the
//!   computed tax lines (at most one per computed tax line) go to the computed tax lines with
//!   the largest rounding remainders, so the totals match the source to the cent. Tax amounts
//!   the source states are never changed.
//!
//! A shipment or refund of units `from..to` of a line of `q` units takes, of each of the line's
//! amounts `x`, `round(x × to / q) − round(x × from / q)`: every part is exact in minor units,
//! and the parts of all units add up to the line's amounts exactly, whatever the split.

use crate::money::{Currency, Money, PPM_PER_WHOLE, Rate, div_half_even};
use crate::order::TaxLine;
use crate::rejection::Rejection;

/// Most tax lines on one order line or shipping line.
pub const TAX_LINES_MAX: usize = 20;

/// A tax line as asked: the amount may be left to the ledger to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxAsked<'a> {
    /// Jurisdiction.
    pub title: &'a str,
    /// Rate.
    pub rate: Rate,
    /// Amount for the whole line, when the source states it.
    pub amount: Option<Money>,
}

/// A computed tax line's rounding remainder, `num / den` of a minor unit (`0 ≤ num < den`), for
/// allocating the order's remainder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remainder {
    /// Which tax line (index in the line's taxes).
    pub index: usize,
    /// Numerator.
    pub num: i128,
    /// Denominator.
    pub den: i128,
}

fn invalid(what: &'static str, value: impl Into<String>) -> Rejection {
    Rejection::InvalidAmount { what, value: value.into() }
}

fn to_money(minor: i128, currency: Currency, what: &'static str) -> Result<Money, Rejection> {
    let m = i64::try_from(minor).map_err(|_| invalid(what, minor.to_string()))?;
    if m.unsigned_abs() > crate::limits::AMOUNT_MINOR_MAX.unsigned_abs() {
        return Err(invalid(what, minor.to_string()));
    }
    Ok(Money::from_minor(m, currency))
}

/// `unit_price × qty`, checked against the amount bound.
pub fn gross(unit_price: Money, qty: u64) -> Result<Money, Rejection> {
    to_money(i128::from(unit_price.minor()) * i128::from(qty), unit_price.currency(), "line amount")
}

/// The taxes of a line whose discounted price (for all its units) is `base`: the amounts the
/// source states, the others computed (module doc). Returns them with the remainders of the
/// computed ones.
pub fn taxes(
    base: Money,
    asked: &[TaxAsked<'_>],
    included: bool,
) -> Result<(Vec<TaxLine>, Vec<Remainder>), Rejection> {
    if asked.len() > TAX_LINES_MAX {
        return Err(Rejection::InvalidInput(format!(
            "{} tax lines on one line, more than {TAX_LINES_MAX}",
            asked.len()
        )));
    }
    let currency = base.currency();
    let b = i128::from(base.minor());
    let million = i128::from(PPM_PER_WHOLE);
    let sum_rates: i128 = asked.iter().map(|t| i128::from(t.rate.ppm())).sum();
    let mut out = Vec::with_capacity(asked.len());
    let mut rems = Vec::new();
    let den = if included { million + sum_rates } else { million };
    let all_computed = asked.iter().all(|t| t.amount.is_none());
    // Tax included and every amount to compute: the line's tax, then its split.
    let mut split_left = if included && all_computed && sum_rates > 0 {
        Some(div_half_even(b * sum_rates, den))
    } else {
        None
    };
    let mut floors = Vec::with_capacity(asked.len());
    for (index, t) in asked.iter().enumerate() {
        crate::limits::check_text("tax line title", t.title)
            .map_err(|e| Rejection::InvalidInput(e.to_string()))?;
        let amount = match t.amount {
            Some(a) => {
                if a.currency() != currency {
                    return Err(Rejection::CurrencyMismatch {
                        expected: currency,
                        found: a.currency(),
                    });
                }
                if a.minor() < 0 || a.minor() > base.minor().max(0) {
                    return Err(invalid("tax line", a.to_decimal_string()));
                }
                a.minor().into()
            }
            None => {
                let exact = b * i128::from(t.rate.ppm());
                if let Some(left) = split_left.as_mut() {
                    let floor = exact.div_euclid(den);
                    *left -= floor;
                    floors.push((index, exact.rem_euclid(den)));
                    floor
                } else {
                    let rounded = div_half_even(exact, den);
                    let rem = exact - rounded * den;
                    // A remainder of a value rounded up is negative: it may give a cent back.
                    rems.push(Remainder { index, num: rem, den });
                    rounded
                }
            }
        };
        out.push((t.title.to_owned(), t.rate, amount));
    }
    if let Some(mut left) = split_left {
        // Largest remainders first; ties to the earlier tax line.
        floors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (index, rem) in floors {
            if left > 0 {
                out[index].2 += 1;
                left -= 1;
                rems.push(Remainder { index, num: rem - den, den });
            } else {
                rems.push(Remainder { index, num: rem, den });
            }
        }
    }
    let mut lines = Vec::with_capacity(out.len());
    for (title, rate, amount) in out {
        lines.push(TaxLine { title, rate, amount: to_money(amount, currency, "tax line")? });
    }
    let total: i64 = lines.iter().map(|t| t.amount.minor()).sum();
    if included && total > base.minor() {
        return Err(invalid(
            "tax included in a line",
            Money::from_minor(total, currency).to_decimal_string(),
        ));
    }
    Ok((lines, rems))
}

/// Σ of tax lines, in minor units.
#[must_use]
pub fn tax_sum(taxes: &[TaxLine]) -> i64 {
    taxes.iter().map(|t| t.amount.minor()).sum()
}

/// What a line (or a shipping line: price, 1 unit) charges, split the way the journal books it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Merchandise after discount, tax excluded (net revenue).
    pub amount: Money,
    /// The discount (as the customer saw it: tax included in tax-included orders).
    pub discount: Money,
    /// Σ of the taxes.
    pub tax: Money,
    /// The taxes by jurisdiction.
    pub taxes: Vec<TaxLine>,
}

impl Charge {
    /// What the customer pays: amount + tax.
    pub fn charged(&self) -> Result<Money, Rejection> {
        self.amount
            .checked_add(self.tax)
            .ok_or_else(|| invalid("line total", self.amount.to_decimal_string()))
    }

    /// Gross revenue before the discount, tax excluded (credited to 4000 or 4100; the discount
    /// is debited to 4200): amount + discount.
    pub fn gross(&self) -> Result<Money, Rejection> {
        self.amount
            .checked_add(self.discount)
            .ok_or_else(|| invalid("line total", self.amount.to_decimal_string()))
    }
}

fn share(x: i64, k: u64, q: u64) -> i64 {
    if q == 0 {
        return 0;
    }
    let v = div_half_even(i128::from(x) * i128::from(k), i128::from(q));
    // |x × k / q| ≤ |x| because k ≤ q.
    i64::try_from(v).unwrap_or(x)
}

fn part(x: Money, from: u64, to: u64, q: u64) -> Money {
    Money::from_minor(share(x.minor(), to, q) - share(x.minor(), from, q), x.currency())
}

/// The share of a line of `q` units (gross `gross`, discount `discount`, taxes `taxes`) that
/// units `from..to` take (module doc). With `to == q` and `from == 0`, the whole line.
pub fn line_part(
    gross: Money,
    discount: Money,
    taxes: &[TaxLine],
    included: bool,
    (from, to, q): (u64, u64, u64),
) -> Result<Charge, Rejection> {
    let currency = gross.currency();
    let base = Money::from_minor(gross.minor() - discount.minor(), currency);
    let base_part = part(base, from, to, q);
    let discount = part(discount, from, to, q);
    let taxes: Vec<TaxLine> = taxes
        .iter()
        .map(|t| TaxLine {
            title: t.title.clone(),
            rate: t.rate,
            amount: part(t.amount, from, to, q),
        })
        .collect();
    let tax = Money::from_minor(tax_sum(&taxes), currency);
    let amount = if included {
        Money::from_minor(base_part.minor() - tax.minor(), currency)
    } else {
        base_part
    };
    Ok(Charge { amount, discount, tax, taxes })
}

/// Adds `diff` cents (positive or negative) to the computed tax lines with the largest
/// remainders (toward the sign of `diff`), at most one cent each. `None` when there are too
/// few computed tax lines to absorb it.
pub fn allocate_remainder(
    diff: i64,
    remainders: &mut [(usize, Remainder)],
    apply: &mut dyn FnMut(usize, usize, i64),
) -> Option<()> {
    if diff == 0 {
        return Some(());
    }
    let n = usize::try_from(diff.unsigned_abs()).ok()?;
    if n > remainders.len() {
        return None;
    }
    // Up: the largest remainders (closest to rounding up); down: the smallest.
    remainders.sort_by(|(la, a), (lb, b)| {
        let ord = (a.num * b.den).cmp(&(b.num * a.den));
        let ord = if diff > 0 { ord.reverse() } else { ord };
        ord.then(la.cmp(lb)).then(a.index.cmp(&b.index))
    });
    for (line, r) in remainders.iter().take(n) {
        apply(*line, r.index, diff.signum());
    }
    Some(())
}

/// The rate of each tax as text, for messages.
#[must_use]
pub fn describe(taxes: &[TaxLine]) -> String {
    taxes
        .iter()
        .map(|t| {
            format!(
                "{} {} = {}",
                t.title,
                t.rate.to_fraction_string(),
                t.amount.to_decimal_string()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::EUR)
    }

    fn rate(text: &str) -> Rate {
        Rate::parse_fraction(text).expect("rate")
    }

    #[test]
    fn tax_included_is_extracted_half_even_and_split_by_largest_remainder() {
        // 19.99 with 19 % VAT included: 19.99 × 0.19 / 1.19 = 3.1916… → 3.19.
        let (t, _) =
            taxes(eur(1999), &[TaxAsked { title: "MwSt", rate: rate("0.19"), amount: None }], true)
                .expect("taxes");
        assert_eq!(t[0].amount, eur(319));
        // 10.00 with two included rates 0.05 + 0.05: tax 10 × 0.1 / 1.1 = 0.9090… → 0.91,
        // split 0.4545… each: floors 0.45 + 0.45 and one cent to the first (a tie).
        let (t, _) = taxes(
            eur(1000),
            &[
                TaxAsked { title: "A", rate: rate("0.05"), amount: None },
                TaxAsked { title: "B", rate: rate("0.05"), amount: None },
            ],
            true,
        )
        .expect("taxes");
        assert_eq!((t[0].amount, t[1].amount), (eur(46), eur(45)));
    }

    #[test]
    fn parts_of_a_line_add_up_to_the_line_whatever_the_split() {
        let taxes = vec![TaxLine { title: "VAT".into(), rate: rate("0.2"), amount: eur(333) }];
        let whole = line_part(eur(2000), eur(1), &taxes, true, (0, 3, 3)).expect("whole");
        let mut sum = (0, 0, 0);
        for (from, to) in [(0, 1), (1, 2), (2, 3)] {
            let p = line_part(eur(2000), eur(1), &taxes, true, (from, to, 3)).expect("part");
            sum = (sum.0 + p.amount.minor(), sum.1 + p.discount.minor(), sum.2 + p.tax.minor());
        }
        assert_eq!(sum, (whole.amount.minor(), whole.discount.minor(), whole.tax.minor()));
        assert_eq!(whole.amount, eur(2000 - 1 - 333));
    }
}
