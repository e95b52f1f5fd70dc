"""The floor: every delivered file read with the fastest readers at hand, every cell kept as text,
one Parquet file per extract. Independent of the pipeline's code (no import of dagster_project).

    python benchmarks/floor.py SOURCES OUT

calamine (python-calamine) for the township workbooks, polars for CSV (GBK decoded by Python's
codec, as strictly as the contract asks) and JSON Lines. Prints ``rows files`` on its last line.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import polars as pl
from python_calamine import CalamineWorkbook

SHEETS = {
    "出生登记": "township_births",
    "人口变动": "township_population",
    "村居分类": "township_village_classes",
}


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text (nested JSON values as their JSON)."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Struct):
            out.append(col.struct.json_encode())
        elif isinstance(dtype, pl.List):
            inner = dtype.inner
            each = (
                pl.element().struct.json_encode()
                if isinstance(inner, pl.Struct)
                else pl.element().cast(pl.Utf8)
            )
            out.append(col.list.eval(each).list.join(","))
        else:
            out.append(col.cast(pl.Utf8))
    return frame.select(out)


def read_workbook(path: Path) -> dict[str, pl.DataFrame]:
    wb = CalamineWorkbook.from_path(str(path))
    frames = {}
    for sheet in wb.sheet_names:
        extract = SHEETS.get(sheet.strip())
        if extract is None:
            continue
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        width = max((len(r) for r in rows), default=0)
        cols = {
            f"c{i}": [None if i >= len(r) or r[i] == "" else str(r[i]) for r in rows] for i in range(width)
        }
        frames[extract] = pl.DataFrame(cols, schema={c: pl.Utf8 for c in cols})
    return frames


def read_csv(path: Path, encoding: str) -> pl.DataFrame:
    text = path.read_bytes().decode(encoding)
    return pl.read_csv(text.encode("utf-8"), infer_schema=False)


def main(sources: Path, out: Path) -> tuple[int, int]:
    parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
    files = 0
    for path in sorted(sources.glob("*/*/*")):
        agency, rel = path.parts[-3], path.relative_to(sources).as_posix()
        if agency == "township" and path.suffix == ".xlsx":
            got = read_workbook(path)
        elif agency == "hospital" and path.suffix == ".csv":
            got = {path.stem.split("_", 1)[1]: read_csv(path, "gbk")}
        elif agency == "finance" and path.suffix == ".csv":
            got = {path.stem: read_csv(path, "utf-8-sig")}
        elif agency == "court" and path.suffix == ".jsonl":
            got = (
                {path.stem: _text(pl.read_ndjson(path, infer_schema_length=None))}
                if path.stat().st_size
                else {}
            )
        else:
            continue
        files += 1
        for extract, frame in got.items():
            parts[extract].append(frame.with_columns(pl.lit(rel).alias("source_file")))
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    for extract, frames in parts.items():
        frame = pl.concat(frames, how="diagonal_relaxed")
        rows += frame.height
        frame.write_parquet(out / f"{extract}.parquet")
    return rows, files


if __name__ == "__main__":
    rows, files = main(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{rows} {files}")
