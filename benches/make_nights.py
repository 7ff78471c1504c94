"""Nights of a generated registry, for benches/nights.sh and benches/incremental.sh.

    python3 benches/make_nights.py BASE.parquet WORK_DIR

Writes WORK_DIR/night_{0.001,0.01,0.1,0.2,0.35}.parquet (that share changed: a third removed, a third
with another partner's needs, a third added as copies under new ids), night_drift.parquet
(70 % of the partners of half the countries gone) and night_boom.parquet (half the partners
take up the rarest theme).
"""
import sys
import polars as pl
base, work = sys.argv[1:]
df = pl.read_parquet(base).with_row_index("i")
for share in (0.001, 0.01, 0.1, 0.2, 0.35):
    step = round(3 / share)
    night = df.filter(pl.col("i") % step != 0)
    shifted = df["needs"].shift(7).fill_null(df["needs"][0])
    night = night.with_columns(pl.when(pl.col("i") % step == 1).then(shifted.gather(night["i"])).otherwise(pl.col("needs")).alias("needs"))
    added = df.filter(pl.col("i") % step == 2).with_columns((pl.col("id") + "-b").alias("id"))
    pl.concat([night, added]).drop("i").write_parquet(f"{work}/night_{share}.parquet")
countries = sorted(df["country_iso3"].unique().to_list())
half = set(countries[: len(countries) // 2])
drifted = df.filter(~pl.col("country_iso3").is_in(list(half)) | (pl.col("i") % 10 < 3))
drifted.drop("i").write_parquet(f"{work}/night_drift.parquet")
# A theme becomes common: half the partners now need and offer one theme more.
theme = df["needs"].str.split(";").explode().value_counts(sort=True)["needs"][-1]
takes_up = (pl.col("i") % 2 == 0) & ~pl.col("needs").fill_null("").str.contains(theme) & ~pl.col("offers").fill_null("").str.contains(theme)
boom = df.with_columns([pl.when(takes_up).then(pl.concat_str([pl.col(c), pl.lit(theme)], separator=";", ignore_nulls=True)).otherwise(pl.col(c)).alias(c) for c in ("needs", "offers")])
boom.drop("i").write_parquet(f"{work}/night_boom.parquet")
