#!/usr/bin/env python3
"""Build /work/data/wallcrops32: 32x32 RGB PNG random crops of real photographs taken
from Debian wallpaper packages (see the wallcrops32 section of /work/data/README.txt).

Usage:
  nice -n 10 python3 /work/data/wallcrops.py fetch   # apt-get download + dpkg-deb -x into $WORK
  nice -n 10 python3 /work/data/wallcrops.py build   # crops -> /work/data/wallcrops32
  nice -n 10 python3 /work/data/wallcrops.py sheet   # 10x10 contact sheet -> /work/data/wallcrops-sheet.png
  (no argument = fetch build sheet)

$WORK defaults to /tmp/wallcrops_work (not kept).  bookworm packages come from the system apt
sources; trixie/bullseye packages through a private apt config under $WORK (the system's
/etc/apt is not modified).  Deliberately NOT used: lomiri-wallpapers-16.04 and mate-backgrounds
(held-out targets in /work/data/photos).
"""
import os, sys, glob, zlib, random, subprocess, shutil
import numpy as np
from PIL import Image

Image.MAX_IMAGE_PIXELS = None
WORK = os.environ.get('WORK', '/tmp/wallcrops_work')
OUT = os.path.join(os.environ.get('OUT_DIR', '/work/data'), 'wallcrops32')
SHEET = os.path.join(os.environ.get('OUT_DIR', '/work/data'), 'wallcrops-sheet.png')
TOTAL = 4000          # target number of crops, spread evenly over photos
SIZE = 32
MIN_STD = 0.02        # skip crop if every channel's std (in [0,1]) is below this
SEED = 20250520

# (package, version, suite, licence) -- licence as stated in the package's
# /usr/share/doc/<pkg>/copyright (plus per-wallpaper metadata where present)
PKGS = {
    'plasma-workspace-wallpapers': ('4:5.27.5-2', 'bookworm',
        'GPL-2+ (debian/copyright, "2014 KDE Visual Design Group"); each wallpaper\'s '
        'metadata.json says LGPLv3'),
    'lomiri-wallpapers-20.04': ('20.04.0-2', 'bookworm', 'CC-BY-SA-3.0 (Kleiber: 2021 Lukas Baubkus)'),
    'lxqt-themes': ('1.2.0-1', 'bookworm', 'LGPL-2.1+ (Files: *, "2012-2022 LXQt team")'),
    'budgie-backgrounds': ('3.0-1', 'trixie', 'CC0-1.0 (Files: *, "2022-2024 Budgie Desktop Developers")'),
    'gnome-backgrounds': ('3.38.0-1', 'bullseye',
        'package GPL-2+; Road, Dark_Ivy: CC-BY-SA-3.0 Garrett LeSage; ColdWarm, Icetwigs, '
        'LightWaves, SeaSunset are not itemised in debian/copyright (package licence GPL-2+)'),
}

PW = 'usr/share/wallpapers/%s/contents/images'          # plasma: take the largest file
PHOTOS = [  # (package, short name used in file names, path inside package or plasma dir)
    # plasma-workspace-wallpapers (photographers from metadata.json)
    ('plasma-workspace-wallpapers', 'BytheWater', PW % 'BytheWater'),      # Maciej Wiklo
    ('plasma-workspace-wallpapers', 'ColorfulCups', PW % 'ColorfulCups'),  # Dmitri Popov
    ('plasma-workspace-wallpapers', 'DarkestHour', PW % 'DarkestHour'),    # Risto Saukonpaa
    ('plasma-workspace-wallpapers', 'EveningGlow', PW % 'EveningGlow'),    # Ian Hex
    ('plasma-workspace-wallpapers', 'FallenLeaf', PW % 'FallenLeaf'),      # Martin Klapetek
    ('plasma-workspace-wallpapers', 'Kite', PW % 'Kite'),                  # Risto Saukonpaa
    ('plasma-workspace-wallpapers', 'OneStandsOut', PW % 'OneStandsOut'),  # Risto Saukonpaa
    ('plasma-workspace-wallpapers', 'Path', PW % 'Path'),                  # Risto Saukonpaa
    ('plasma-workspace-wallpapers', 'summer_1am', PW % 'summer_1am'),      # Risto Saukonpaa
    ('lomiri-wallpapers-20.04', 'Kleiber', 'usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg'),
] + [('lxqt-themes', os.path.splitext(f)[0], 'usr/share/lxqt/wallpapers/' + f) for f in [
    'Butterfly-Kenneth-Wimer.jpg', 'Valendas.png', 'after-the-rain.jpg', 'appleflower.png',
    'beam.png', 'butterfly.png', 'cloud.png', 'drop.png', 'flowers.png', 'fog.jpg',
    'this-is-not-windows.jpg']
] + [('budgie-backgrounds', n, 'usr/share/backgrounds/budgie/%s.jpg' % n) for n in [
    'beacon-street-sunset', 'blue-periwinkle', 'canyon-wren', 'casa-mila', 'extreme-desert-hike',
    'high-trestle-trail', 'lake-sherburne', 'oakland-zoo-otters', 'perched-osprey',
    'piazza-gae-aulenti', 'roman-colosseum', 'saturnian-profile', 'singaporean-cityscape',
    'tea-gardens']
] + [('gnome-backgrounds', n, 'usr/share/backgrounds/gnome/%s.jpg' % n) for n in [
    'ColdWarm', 'Dark_Ivy', 'Icetwigs', 'LightWaves', 'Road', 'SeaSunset']]
# Looked at but NOT used: drawings/renders/abstracts (plasma Altai, Autumn, Canopee, Cascade,
# Cluster, Elarun, Flow, FlyingKonqui, Honeywave, IceCold, Kay, Kokkini, MilkyWay, Opal,
# PastelHills, Patak, SafeLanding, Shell, Volna; all of gnome-backgrounds 43 (bookworm);
# ukui-wallpapers; lomiri Fossa, Painting-Colors, Infinite-Sea (composite); xfdesktop4-data;
# lxde-common; sway-backgrounds; desktop-base; lxqt origami/triangles/waves/logo ones; budgie
# ocean-waves (woodblock print), valley-midnight, waves-midnight; gnome 3.38 Acrylic (a
# painting), Endless-shapes, Stripes, Symbolics-*, Wood, adwaita-*), and exactly-greyscale
# photos (plasma ColdRipple, Grey; budgie abstract-spiral) because this is a colour experiment.


def pkgdir(pkg):
    return os.path.join(WORK, 'x', pkg)


def fetch():
    debs = os.path.join(WORK, 'debs'); os.makedirs(debs, exist_ok=True)
    aptdir = os.path.join(WORK, 'apt')
    for d in ('state/lists/partial', 'cache/archives/partial', 'etc/sources.list.d', 'etc/preferences.d'):
        os.makedirs(os.path.join(aptdir, d), exist_ok=True)
    open(os.path.join(aptdir, 'state/status'), 'a').close()
    with open(os.path.join(aptdir, 'etc/sources.list.d/x.sources'), 'w') as f:
        f.write('Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bullseye trixie\n'
                'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n')
    conf = os.path.join(aptdir, 'apt.conf')
    with open(conf, 'w') as f:
        f.write('Dir::State "%s/state";\nDir::State::status "%s/state/status";\n'
                'Dir::Cache "%s/cache";\nDir::Etc::SourceList "/dev/null";\n'
                'Dir::Etc::SourceParts "%s/etc/sources.list.d";\n'
                'Dir::Etc::preferencesparts "%s/etc/preferences.d";\n'
                'APT::Architecture "amd64";\nAcquire::Languages "none";\n' % ((aptdir,) * 5))
    envx = dict(os.environ, APT_CONFIG=conf)
    subprocess.run(['apt-get', 'update', '-qq'], check=True)
    subprocess.run(['apt-get', 'update', '-qq'], check=True, env=envx)
    for pkg, (ver, suite, _) in PKGS.items():
        env = None if suite == 'bookworm' else envx
        subprocess.run(['apt-get', 'download', '-q', '%s=%s' % (pkg, ver)], check=True, cwd=debs, env=env)
        deb = glob.glob(os.path.join(debs, pkg + '_*.deb'))[0]
        shutil.rmtree(pkgdir(pkg), ignore_errors=True); os.makedirs(pkgdir(pkg))
        subprocess.run(['dpkg-deb', '-x', deb, pkgdir(pkg)], check=True)


def photo_path(pkg, rel):
    p = os.path.join(pkgdir(pkg), rel)
    if os.path.isdir(p):   # plasma: largest resolution in contents/images
        fs = sorted(f for f in glob.glob(p + '/*') if f.lower().endswith(('.jpg', '.jpeg', '.png')))
        p = max(fs, key=lambda f: Image.open(f).size[0] * Image.open(f).size[1])  # ties: first name
        # (bookworm ships the same 2560x1600 file under every size name for some wallpapers)
    return p


def load_rgb(path):
    im = Image.open(path)
    if im.mode in ('RGBA', 'LA', 'P'):
        im = im.convert('RGBA'); bg = Image.new('RGBA', im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert('RGB')


def build():
    if os.path.exists(OUT):
        old = [f for f in os.listdir(OUT) if f.endswith('.png')]
        for f in old: os.remove(os.path.join(OUT, f))
    os.makedirs(OUT, exist_ok=True)
    n = len(PHOTOS); base, extra = divmod(TOTAL, n)
    total = 0
    for i, (pkg, name, rel) in enumerate(PHOTOS):
        want = base + (1 if i < extra else 0)
        path = photo_path(pkg, rel)
        im = load_rgb(path); W, H = im.size; s = min(W, H)
        rng = random.Random(SEED ^ zlib.crc32(('%s/%s' % (pkg, name)).encode()))
        k = tries = skipped = 0
        while k < want and tries < 50 * want:
            tries += 1
            side = rng.randint(s // 8, s // 2)
            x = rng.randint(0, W - side); y = rng.randint(0, H - side)
            c = im.resize((SIZE, SIZE), Image.LANCZOS, box=(x, y, x + side, y + side))
            a = np.asarray(c, dtype=np.float32) / 255.0
            if a.reshape(-1, 3).std(0).max() < MIN_STD:
                skipped += 1; continue
            c.save(os.path.join(OUT, '%s-%s-%03d.png' % (pkg, name, k)))
            k += 1
        total += k
        print('%-28s %-24s %5dx%-5d crops %3d  skipped-uniform %3d  <- %s'
              % (pkg, name, W, H, k, skipped, os.path.relpath(path, WORK)), flush=True)
    print('photos', n, 'crops', total)


def sheet():
    fs = sorted(f for f in os.listdir(OUT) if f.endswith('.png'))
    pick = random.Random(SEED).sample(fs, 100)
    S = SIZE * 3; g = 2
    sh = Image.new('RGB', (10 * (S + g) + g, 10 * (S + g) + g), (255, 255, 255))
    for j, f in enumerate(pick):
        im = Image.open(os.path.join(OUT, f)).resize((S, S), Image.NEAREST)
        sh.paste(im, (g + (j % 10) * (S + g), g + (j // 10) * (S + g)))
    sh.save(SHEET)
    print('sheet', SHEET)


if __name__ == '__main__':
    steps = sys.argv[1:] or ['fetch', 'build', 'sheet']
    for s in steps:
        {'fetch': fetch, 'build': build, 'sheet': sheet}[s]()
