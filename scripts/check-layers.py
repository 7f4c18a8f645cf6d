#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-layers.py — refuses an #include of a higher layer's header in src/.

The layers of src/, from the ground up, are given by src/CMakeLists.txt
(HERALD_LAYERS) and passed here by the test lint.layers:

    check-layers.py <src dir> core codec store ingest net hub deliver rooms auth api

A file of src/<layer>/ may include headers of its own layer and of the
layers below it; src/main.c (the composition root) may include any. The
build's link checks (herald_layer_check_<layer>) refuse a call upward;
this refuses the include, which would let a type, a macro or an inline
function climb without a call. Prints every offending line and exits 1,
or prints a one-line summary and exits 0. See docs/architecture.md.
"""
import os
import re
import sys

INCLUDE = re.compile(r'\s*#\s*include\s+"([a-z_]+)/[^"]+"')


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src, layers = argv[1], argv[2:]
    rank = {name: i for i, name in enumerate(layers)}
    bad, files = [], 0
    for layer in layers:
        folder = os.path.join(src, layer)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(('.c', '.h')):
                continue
            files += 1
            path = os.path.join(folder, name)
            with open(path, encoding='utf-8') as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = m.group(1)
                    if target == 'herald':  # the public headers, include/herald/
                        continue
                    if target not in rank:
                        bad.append(f'{path}:{lineno}: includes "{target}/", which is not a layer')
                    elif rank[target] > rank[layer]:
                        bad.append(f'{path}:{lineno}: {layer} includes {line.strip()[9:]} '
                                   f'from {target}, a higher layer')
    for folder in sorted(os.listdir(src)):
        if os.path.isdir(os.path.join(src, folder)) and folder not in rank:
            bad.append(f'{src}/{folder}/: a folder that is not in HERALD_LAYERS (src/CMakeLists.txt)')
    for line in bad:
        print(line)
    if bad:
        print(f'{len(bad)} include(s) against the layers (docs/architecture.md)')
        return 1
    print(f'{files} files, every include goes to its own layer or one below ({" < ".join(layers)})')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
