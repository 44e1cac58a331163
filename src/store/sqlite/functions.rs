//! SQL functions that Tracewell registers on its connections.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::{Connection, Result};

/// `saturating_sum(x)`: the sum of the integers in a group, held at the
/// 64-bit bounds instead of failing with "integer overflow" as SQLite's
/// `sum()` does, so one absurd value can never make a report fail.
struct SaturatingSum;

impl Aggregate<i64, i64> for SaturatingSum {
    fn init(&self, _: &mut Context<'_>) -> Result<i64> {
        Ok(0)
    }

    fn step(&self, ctx: &mut Context<'_>, sum: &mut i64) -> Result<()> {
        let value: Option<i64> = ctx.get(0)?;
        *sum = sum.saturating_add(value.unwrap_or(0));
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, sum: Option<i64>) -> Result<i64> {
        Ok(sum.unwrap_or(0))
    }
}

pub(super) fn register(conn: &Connection) -> Result<()> {
    conn.create_aggregate_function(
        "saturating_sum",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        SaturatingSum,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_sum_holds_at_max() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let sum: i64 = conn
            .query_row(
                "SELECT saturating_sum(x) FROM (SELECT 9223372036854775000 AS x \
                 UNION ALL SELECT 9000 UNION ALL SELECT NULL)",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(sum, i64::MAX);
    }
}
