"""The matching probe at a small size: every form written, and its decisions.

The probe's listings are written by rules none of the replicas follow (see
benchmarks/matching_probe.py); here on a small world, so a regression of the
matcher on a form shows in CI, not only when someone runs the benchmark.
"""

from __future__ import annotations

from benchmarks.matching_probe import probe


def test_probe_forms_are_written_and_mostly_merged_and_the_apart_ones_stay_apart() -> None:
    out = probe(seed=7, shops=400, per_form=6, show=True)
    assert len(out) == 16 and all(total > 0 for _right, total in out.values())
    merge = [v for form, v in out.items() if "APART" not in form]
    apart = [v for form, v in out.items() if "APART" in form]
    assert sum(r for r, _ in apart) == sum(n for _, n in apart)
    assert sum(r for r, _ in merge) >= 0.9 * sum(n for _, n in merge)
