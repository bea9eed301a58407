"""Peak memory of a crawler reading a 200 MB answer and a gzip bomb (issue 16, item 4).

Not a test (figures are noisy on a shared machine): run it by hand,

    .venv/bin/python -m tests.crawlers.measure_bodies

Each case crawls a hostile platform (``tests.crawlers.hostile``) in a fresh process
(the API connector or the spider's worker code path, in memory) and prints that
process's peak resident memory: a small answer first (the baseline), then a 200 MB
JSON or HTML answer and a gzip bomb inflating to 200 MB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap

from crawlers.preview import preview_source
from tests.crawlers.hostile import MB, HostilePair, gzip_bomb, html_answer, huge, json_answer

API = """\
sources:
  demo:
    name: Demo
    connector: json_api
    base_url: {url}
    retries: 0
    extract:
      endpoints:
        - {{kind: shop, path: /api/shops, items: items, fields: {{source_id: id, name: nom}}}}
"""
HTML = """\
sources:
  demo:
    name: Demo
    connector: html
    base_url: {url}
    retries: 0
    obey_robots: false
    extract:
      start: ["/boutiques"]
      pages:
        list:
          items: [{{kind: shop, select: li, fields: {{source_id: "::text", name: "::text"}}}}]
"""


def child(text: str) -> None:
    """Crawl the source of ``text`` into a preview; print the peak RSS in MB."""
    from crawlers.config import parse_sources  # noqa: PLC0415 - the child's own imports

    config = parse_sources(text)["demo"]
    preview = preview_source(config, pages=3)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": round(peak), "errors": [e[1] for e in preview.errors],
                      "listings": len(preview.listings)}))


def measure(template: str, answer: object, path: str) -> dict[str, object]:
    with HostilePair() as pair:
        pair.platform.on(path, answer)  # type: ignore[arg-type]
        text = template.format(url=pair.platform.url)
        out = subprocess.run([sys.executable, "-m", "tests.crawlers.measure_bodies", "--child",
                              text], capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    small_json = json_answer({"items": [{"id": 1, "nom": "x"}]})
    small_html = html_answer("<html><body><ul><li>a</li></ul></body></html>")
    cases = [
        ("json_api, small answer", API, small_json, "/api/shops"),
        ("json_api, 200 MB JSON", API, huge(200 * MB), "/api/shops"),
        ("json_api, gzip bomb (200 MB inflated)", API, gzip_bomb(200 * MB), "/api/shops"),
        ("html spider, small page", HTML, small_html, "/boutiques"),
        ("html spider, 200 MB page", HTML, huge(200 * MB, kind="html"), "/boutiques"),
        ("html spider, gzip bomb (200 MB inflated)", HTML, gzip_bomb(200 * MB, kind="html"),
         "/boutiques"),
    ]
    for name, template, answer, path in cases:
        print(f"{name:45} {measure(template, answer, path)}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(textwrap.dedent(sys.argv[2]))
    else:
        main()
