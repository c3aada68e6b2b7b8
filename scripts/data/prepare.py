#!/usr/bin/env python3
"""Build /work/data/{emoji64,emoji32,sprites64,sprites32,photos} from staged sources.

Sources are staged by prepare.sh into $WORK (default /tmp/prep_work):
  $WORK/noto/png/128/*.png                       googlefonts/noto-emoji
  $WORK/pokesprite/pokemon-gen8/regular/*.png    msikma/pokesprite
  $WORK/histogan/target_images/*.jpg             mahmoudnafifi/HistoGAN
  $WORK/skimage/skimage/data/*                   scikit-image wheel (PyPI)
  $WORK/debs/<pkg>/usr/share/backgrounds/...     Debian packages (apt-get download + dpkg-deb -x)

All outputs are RGB PNG (alpha composited onto white).
"""
import os
import sys
import glob
from PIL import Image

Image.MAX_IMAGE_PIXELS = None
WORK = os.environ.get("WORK", "/tmp/prep_work")
OUT = os.environ.get("OUT_DIR", "/work/data")
WHITE = (255, 255, 255)


def to_rgba(im):
    if im.mode == "P" or im.mode == "LA" or im.mode == "L" or im.mode == "RGB" or im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode != "RGBA":
        im = im.convert("RGBA")
    return im


def on_white(rgba):
    bg = Image.new("RGBA", rgba.size, WHITE + (255,))
    return Image.alpha_composite(bg, rgba).convert("RGB")


def pad_square(rgb, box=None, margin=0):
    """Crop rgb to box (+margin, may extend outside) and pad to a centred white square."""
    if box is None:
        box = (0, 0) + rgb.size
    l, t, r, b = box
    w, h = r - l, b - t
    side = max(w, h) + 2 * margin
    canvas = Image.new("RGB", (side, side), WHITE)
    canvas.paste(rgb.crop(box), ((side - w) // 2, (side - h) // 2))
    return canvas


def save_pair(img64, name, d64, d32):
    assert img64.size == (64, 64) and img64.mode == "RGB"
    img64.save(os.path.join(d64, name), optimize=True)
    img64.resize((32, 32), Image.LANCZOS).save(os.path.join(d32, name), optimize=True)


def build_emoji():
    d64, d32 = os.path.join(OUT, "emoji64"), os.path.join(OUT, "emoji32")
    os.makedirs(d64, exist_ok=True)
    os.makedirs(d32, exist_ok=True)
    files = sorted(glob.glob(os.path.join(WORK, "noto/png/128/*.png")))
    n = 0
    for f in files:
        im = to_rgba(Image.open(f))
        rgb = on_white(im)
        if rgb.size[0] != rgb.size[1]:
            rgb = pad_square(rgb)
        save_pair(rgb.resize((64, 64), Image.LANCZOS), os.path.basename(f), d64, d32)
        n += 1
    print("emoji:", n)


def build_sprites():
    d64, d32 = os.path.join(OUT, "sprites64"), os.path.join(OUT, "sprites32")
    os.makedirs(d64, exist_ok=True)
    os.makedirs(d32, exist_ok=True)
    files = sorted(glob.glob(os.path.join(WORK, "pokesprite/pokemon-gen8/regular/*.png")))
    n = skipped = 0
    for f in files:
        im = to_rgba(Image.open(f))
        box = im.getchannel("A").point(lambda a: 255 if a > 0 else 0).getbbox()
        if box is None:
            print("  empty sprite, skipped:", f)
            skipped += 1
            continue
        rgb = on_white(im)
        side = max(box[2] - box[0], box[3] - box[1])
        margin = max(1, round(0.05 * side))
        sq = pad_square(rgb, box, margin)
        save_pair(sq.resize((64, 64), Image.LANCZOS), os.path.basename(f), d64, d32)
        n += 1
    print("sprites:", n, "skipped:", skipped)


# (output name, source path relative to WORK)
PHOTOS = [
    # Debian lomiri-wallpapers-16.04 20.04.0-2
    ("lomiri_aitzgorri.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg"),
    ("lomiri_bridge.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg"),
    ("lomiri_dragonfly.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/Dragonfly_by_Bolly.jpg"),
    ("lomiri_life.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg"),
    ("lomiri_picosdeeuropa.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg"),
    ("lomiri_picture0B_fig.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/Picture_0B_by_freespace.jpg"),
    ("lomiri_picture1A_brushes.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/Picture_1A_by_freespace.jpg"),
    ("lomiri_seeding.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg"),
    ("lomiri_sunset.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg"),
    ("lomiri_wine.png", "debs/lomiri-wallpapers-16.04/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg"),
    # Debian mate-backgrounds 1.26.0-1
    ("mate_aqua.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/Aqua.jpg"),
    ("mate_blinds.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/Blinds.jpg"),
    ("mate_dune.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/Dune.jpg"),
    ("mate_freshflower.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/FreshFlower.jpg"),
    ("mate_greenmeadow.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/GreenMeadow.jpg"),
    ("mate_ladybird.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/LadyBird.jpg"),
    ("mate_storm.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/Storm.jpg"),
    ("mate_yellowflower.png", "debs/mate-backgrounds/usr/share/backgrounds/mate/nature/YellowFlower.jpg"),
    # scikit-image 0.26.0 wheel, skimage/data
    ("skimage_astronaut.png", "skimage/skimage/data/astronaut.png"),
    ("skimage_chelsea.png", "skimage/skimage/data/chelsea.png"),
    ("skimage_coffee.png", "skimage/skimage/data/coffee.png"),
    ("skimage_hubble_deep_field.png", "skimage/skimage/data/hubble_deep_field.jpg"),
    ("skimage_motorcycle_left.png", "skimage/skimage/data/motorcycle_left.png"),
    ("skimage_rocket.png", "skimage/skimage/data/rocket.jpg"),
    # mahmoudnafifi/HistoGAN target_images (non-face ones)
    ("histogan_target2_flower.png", "histogan/target_images/2.jpg"),
    ("histogan_target3_food.png", "histogan/target_images/3.jpg"),
    ("histogan_target6_breakfast.png", "histogan/target_images/6.jpg"),
]


def build_photos(max_side=1024):
    d = os.path.join(OUT, "photos")
    os.makedirs(d, exist_ok=True)
    for name, rel in PHOTOS:
        im = Image.open(os.path.join(WORK, rel))
        if im.format == "JPEG":
            im.draft("RGB", (max_side, max_side))  # fast DCT pre-shrink, stays >= requested size
        if im.mode in ("RGBA", "LA", "P", "PA"):
            im = on_white(to_rgba(im))
        else:
            im = im.convert("RGB")
        if max(im.size) > max_side:
            s = max_side / max(im.size)
            im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.LANCZOS)
        im.save(os.path.join(d, name), optimize=False)
        print("photo:", name, im.size)


if __name__ == "__main__":
    what = sys.argv[1:] or ["emoji", "sprites", "photos"]
    if "emoji" in what:
        build_emoji()
    if "sprites" in what:
        build_sprites()
    if "photos" in what:
        build_photos()
