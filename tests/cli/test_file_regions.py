"""`pixelate file --region/--faces/--face-blocks`: only the chosen areas change, and each JSON line says which."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.paths import CORPUS, SAMPLES


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixelate.cli", "file", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180)


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"), dtype=np.int16)


def test_regions_in_pixels_and_fractions_change_only_those_boxes(tmp_path):
    source = CORPUS / "transparent.png"  # lossless: outside the boxes every pixel must be as it was
    proc = run(str(source), "-o", "out.png", "--size", "8", "--region", "16,24,40,32", "--region", "0.5,0.5,0.25,0.25",
               "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (record,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert (record["width"], record["height"]) == (200, 150)
    assert record["regions"] == [
        {"x": 16, "y": 24, "w": 40, "h": 32, "block": 8, "source": "manual"},
        {"x": 100, "y": 75, "w": 50, "h": 38, "block": 8, "source": "manual"},
    ]
    before, after = pixels(source), pixels(tmp_path / "out.png")
    inside = np.zeros(before.shape[:2], bool)
    for box in record["regions"]:
        inside[box["y"]:box["y"] + box["h"], box["x"]:box["x"] + box["w"]] = True
    assert (before[~inside] == after[~inside]).all()
    assert (before[inside] != after[inside]).any(axis=-1).mean() > 0.3  # the boxes did change
    # every 8x8 block anchored at a box's corner is one colour
    box = record["regions"][0]
    block = after[box["y"]:box["y"] + 8, box["x"]:box["x"] + 8].reshape(-1, 4)
    assert (block == block[0]).all()


def test_faces_are_found_and_listed_with_their_score(tmp_path):
    shutil.copy(SAMPLES / "astronaut.png", tmp_path / "astronaut.png")
    shutil.copy(SAMPLES / "coffee.png", tmp_path / "coffee.png")
    proc = run(".", "--out-dir", "out", "--faces", "--json", "-j", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = {Path(r["input"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    (face,) = records["astronaut.png"]["regions"]
    assert face["source"] == "face" and 0.5 < face["score"] <= 1
    # the face in skimage's astronaut lies about x 170-270, y 50-180: the box covers it
    assert face["x"] <= 180 and face["y"] <= 70 and face["x"] + face["w"] >= 260 and face["y"] + face["h"] >= 170
    assert face["w"] / face["block"] <= 8.01  # never more than 8 blocks across a face by default
    assert records["coffee.png"]["regions"] == []  # no face: nothing pixelated, the file as it was
    assert (pixels(tmp_path / "coffee.png") == pixels(tmp_path / "out" / "coffee.pixelated.png")).all()


def test_face_blocks_zero_keeps_the_size_asked(tmp_path):
    proc = run(str(SAMPLES / "astronaut.png"), "-o", "out.png", "--faces", "--face-blocks", "0", "--size", "4", "--json",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (face,) = json.loads(proc.stdout)["regions"]
    assert face["block"] == 4


def test_readable_line_says_what_was_hidden(tmp_path):
    proc = run(str(SAMPLES / "astronaut.png"), "-o", "out.png", "--faces", "--region", "0,0,10,10", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 face and 1 region pixelated" in proc.stdout


def test_a_region_outside_the_image_is_rejected_with_its_name(tmp_path):
    proc = run(str(CORPUS / "transparent.png"), "-o", "out.png", "--region", "500,500,10,10", "--json", cwd=tmp_path)
    assert proc.returncode == 2
    record = json.loads(proc.stdout)
    assert record["status"] == "rejected" and record["reason"] == "invalid-option"
    assert "500,500,10,10" in record["message"] or "Region 1" in record["message"]
    assert not (tmp_path / "out.png").exists()


def test_a_malformed_region_is_a_usage_error(tmp_path):
    proc = run(str(CORPUS / "transparent.png"), "--region", "1,2,3", cwd=tmp_path)
    assert proc.returncode != 0 and "Region 1" in proc.stderr
    proc = run(str(CORPUS / "transparent.png"), "--faces", "--face-blocks", "many", cwd=tmp_path)
    assert proc.returncode != 0 and "face" in proc.stderr.lower()


def test_without_regions_or_faces_no_regions_field(tmp_path):
    proc = run(str(CORPUS / "transparent.png"), "-o", "out.png", "--json", cwd=tmp_path)
    assert "regions" not in json.loads(proc.stdout)


def test_an_animations_faces_are_listed_with_their_frames_and_counted_once(tmp_path):
    face = Image.open(SAMPLES / "astronaut.png").convert("RGB").crop((120, 20, 330, 230))
    frames = []
    for shift in (0, 0, 120, 120):  # the face stays, moves, stays
        canvas = Image.new("RGB", (512, 400), (90, 120, 160))
        canvas.paste(face, (40 + shift, 80))
        canvas.putpixel((0, len(frames)), (255, 0, 0))  # no two frames alike: none is folded into another
        frames.append(canvas)
    frames[0].save(tmp_path / "walk.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    proc = run("walk.gif", "--faces", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["frames"] == 4
    assert [(region["source"], region["frames"]) for region in record["regions"]] == [("face", [0, 1]), ("face", [2, 3])]
    readable = run("walk.gif", "--faces", "-o", "again.gif", cwd=tmp_path)
    assert "1 face pixelated" in readable.stdout, readable.stdout  # one face at a time, not two
