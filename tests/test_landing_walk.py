"""The landing zone's walk (landing.scan): every regular file once, in the order sorted paths have, with its path
under the zone; what is not a delivery apart. Its order is the order every night digests and lists the files in."""

import os

from dagster_project import landing


def test_the_walk_lists_files_in_sorted_path_order_with_their_paths_under_the_zone(tmp_path):
    zone = tmp_path / "zone"
    # names around "/" in byte order ("-" and "." sort before it, "_" after): a path's components decide, not its text
    for folder in ("a", "a-b", "a.b", "a_b", "ab", "A", "中文", "x y"):
        for name in ("z.csv", "a-b.csv", "a.csv", "文件.csv"):
            (zone / folder / "sub").mkdir(parents=True, exist_ok=True)
            (zone / folder / name).write_text("x", encoding="utf-8")
            (zone / folder / "sub" / name).write_text("x", encoding="utf-8")
    for name in ("a-c", "a.c", "b", ".hidden"):
        (zone / name).write_text("x", encoding="utf-8")
    os.symlink(zone / "b", zone / "link")
    os.mkfifo(zone / "a" / "pipe")

    inv = landing.scan(zone)

    expected = sorted(
        p for p in zone.rglob("*") if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    )
    assert len(expected) == 8 * 8 + 3
    assert inv.files == expected
    assert inv.rels == [p.relative_to(zone).as_posix() for p in expected]
    assert [(o.rel, o.kind) for o in inv.odd] == [("a/pipe", "FIFO"), ("link", "link")]
