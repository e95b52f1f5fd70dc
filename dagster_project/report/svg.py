"""The report's charts rendered: Vega-Lite specs to inline SVG by vl-convert (offline, no script),
in parallel on a large page, kept between pages in a cache of SVGs named by their spec's digest."""

from __future__ import annotations

import re
from pathlib import Path

VL_VERSION = "5.21"  # the Vega-Lite release the specs are written for (vl-convert bundles several)

_ID = re.compile(r'\bid="([^"]+)"')
_XMLNS = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


def render_svg(spec: dict, prefix: str) -> str:
    """The spec as SVG for inline use: no namespace URLs, ids made unique on the page (clip paths)."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(
        spec,
        vl_version=VL_VERSION,
        allowed_base_urls=[],  # the data is inline: nothing may be fetched
        format_locale="zh-CN",
        time_format_locale="zh-CN",
    )
    svg = _XMLNS.sub("", svg, count=2)
    for old in set(_ID.findall(svg)):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    return svg


PARALLEL_MIN_CHARTS = 12  # fewer: rendered in this process (a worker costs about a second to start)


def _render(item: tuple[dict, str]) -> str:
    return render_svg(*item)


def render_many(
    items: list[tuple[dict, str]], workers: int | None = None, cache: Path | None = None
) -> list[str]:
    """``render_svg`` of each (spec, prefix), in order. vl-convert renders one chart at a time per
    process, so a page of many districts is rendered by ``PFPW_WORKERS`` spawned processes.

    ``cache``: a folder of SVGs named by the digest of their spec and prefix (and of vl-convert's
    version): a chart whose data did not change since the last page is not rendered again. The
    folder keeps only the charts of this page."""
    if cache is None:
        return _render_all(items, workers)
    import hashlib
    import json

    import vl_convert

    from dagster_project import atomic

    version = getattr(vl_convert, "__version__", "")
    names = [
        hashlib.sha256(
            json.dumps([spec, prefix, version], sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        + ".svg"
        for spec, prefix in items
    ]
    cache.mkdir(parents=True, exist_ok=True)
    missing = {n: item for n, item in zip(names, items, strict=True) if not (cache / n).is_file()}
    for name, svg in zip(missing, _render_all(list(missing.values()), workers), strict=True):
        atomic.write_text(cache / name, svg)
    out = [(cache / n).read_text(encoding="utf-8") for n in names]
    keep = set(names)
    for old in cache.iterdir():
        if old.name not in keep and not (atomic.is_temporary(old) and atomic.writer_alive(old)):
            old.unlink(missing_ok=True)
    return out


def _render_all(items: list[tuple[dict, str]], workers: int | None = None) -> list[str]:
    from dagster_project import settings

    workers = min(workers or settings.current().workers, len(items))
    if workers < 2 or len(items) < PARALLEL_MIN_CHARTS:
        return [_render(item) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(_render, items, chunksize=max(1, len(items) // (workers * 4))))
    except BrokenProcessPool:  # a process that cannot spawn (e.g. a main module read from stdin)
        return [_render(item) for item in items]
