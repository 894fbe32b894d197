"""The benchmark's privacy rows run and check what they claim: faces and regions timed against the whole image in
fresh processes, regions lossless outside their boxes (and the check tells a re-encode apart), memory probed."""
from __future__ import annotations

from pixelate.bench import privacy, report, workloads

#: a small photo of someone and two regions inside it (the benchmark's own are placed on 12 MP)
REGIONS = ((101, 53, 120, 100), (330, 200, 100, 120))


def portrait() -> workloads.Workload:
    return workloads.Workload("jpeg-portrait-small", "jpeg", 640, 480, 1,
                              workloads.photo_jpeg(640, 480, sample="astronaut.png"))


def test_regions_outside_their_boxes_decode_to_the_input_and_a_re_encode_does_not():
    kept = privacy.regions_lossless(portrait(), REGIONS)
    assert kept["format"] == "JPEG" and kept["lossless"] and kept["changed_outside"] == 0
    # drawn regions grow to whole 16 px blocks of a 4:2:0 JPEG's every component, and no further
    assert kept["boxes"] == [{"x": 96, "y": 48, "w": 128, "h": 112}, {"x": 320, "y": 192, "w": 112, "h": 128}]
    re_encoded = privacy.regions_lossless(portrait(), REGIONS, fast=False)
    assert not re_encoded["lossless"] and re_encoded["changed_outside"] > 0


def test_privacy_rows_time_faces_and_regions_in_fresh_processes_and_report_the_goals():
    work = portrait()
    saved = privacy.run_privacy(rounds=1, repeats=1, works=(work,), memory_works=(work,), regions=REGIONS)
    (cell,) = saved["timings"]
    assert set(cell["ms"]) == {"whole image", "faces", "two regions"} and all(ms > 0 for ms in cell["ms"].values())
    assert cell["session_load_ms"] > 0 and cell["first_faces_call_ms"] > 0
    assert cell["faces_found"] == 1  # the astronaut
    probes = {m["faces"]: m for m in saved["memory"]}
    assert probes[True]["peak_mib"] > probes[False]["peak_mib"] > 0  # the model and onnxruntime's buffers
    goals = privacy.goal_lines(saved)
    assert goals[0].startswith("Goals of issue 14 on jpeg-portrait-small") and len(goals) == 4
    assert goals[3].startswith("  [x] two regions lossless")
    text = report.text_report([], None, report.machine(), privacy=saved)
    assert "with faces ≤ whole image + 250 ms" in text and "model load" in text and "Peak memory" in text
    markdown = report.markdown_report([], None, report.machine(), privacy=saved)
    assert "## Faces and regions" in markdown and "- [x] two regions lossless" in markdown

