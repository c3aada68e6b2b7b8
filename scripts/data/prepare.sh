#!/bin/bash
# Stage sources into $WORK and run prepare.py.  Outputs go to /work/data.
# Prerequisite (done with the session's `fetch` tool, not a shell command):
#   fetch github:googlefonts/noto-emoji      -> /work/.mirror/googlefonts+noto-emoji/repo
#   fetch github:msikma/pokesprite           -> /work/.mirror/msikma+pokesprite/repo
#   fetch github:mahmoudnafifi/HistoGAN      -> /work/.mirror/mahmoudnafifi+HistoGAN/repo
# (twitter/twemoji, jdecked/twemoji, hfg-gmuend/openmoji and PokeAPI/sprites were
#  refused by fetch: snapshots larger than the 500 MiB limit.)
set -euo pipefail
WORK=${WORK:-/tmp/prep_work}
M=/work/.mirror
mkdir -p "$WORK"/{noto,pokesprite,histogan,skimage,debs/dl}

# 1. noto-emoji PNGs (commit b3e3051a088047d19fd4d49b1c3ac42fb8c3aaf8)
git --git-dir=$M/googlefonts+noto-emoji/repo archive HEAD png/128 | tar x -C "$WORK/noto"
# 2. pokesprite gen8 box sprites (commit c5aaa610ff2acdf7fd8e2dccd181bca8be9fcb3e)
git --git-dir=$M/msikma+pokesprite/repo archive HEAD pokemon-gen8/regular | tar x -C "$WORK/pokesprite"
# 3. HistoGAN target images (commit 37fe53c496a34e7ee3182d008ef61f858ccd5215)
git --git-dir=$M/mahmoudnafifi+HistoGAN/repo archive HEAD target_images | tar x -C "$WORK/histogan"
# 4. scikit-image wheel from PyPI (0.26.0, cp311 manylinux)
( cd "$WORK/skimage" && pip download --no-deps --only-binary=:all: scikit-image==0.26.0 -d . \
  && unzip -o -q scikit_image-*.whl 'skimage/data/*' -d . )
# 5. Debian bookworm wallpaper packages
( cd "$WORK/debs/dl" && apt-get download mate-backgrounds=1.26.0-1 lomiri-wallpapers-16.04=20.04.0-2 )
for d in "$WORK"/debs/dl/*.deb; do p=$(basename "$d"); p=${p%%_*}; mkdir -p "$WORK/debs/$p"; dpkg-deb -x "$d" "$WORK/debs/$p"; done

WORK="$WORK" nice python3 "$(dirname "$0")/prepare.py" emoji sprites photos
