#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-spdx.py — every source file of the repository names its license.

    check-spdx.py <repository root>

Lists the files git tracks and checks that each source file (C, headers,
shell, Python, JavaScript, CMake, make, proto, roff, unit and settings
files) carries "SPDX-License-Identifier: MIT" in its first lines, as the
LICENSE file says. Data (test captures, fuzz corpora, JSON), Markdown and
the Debian metadata (debian/copyright covers it) are not source. Prints
every file without the line and exits 1, or a one-line summary and 0.
"""
import os
import subprocess
import sys

TAG = 'SPDX-License-Identifier: MIT'
SOURCE_EXT = {'.c', '.h', '.sh', '.py', '.mjs', '.js', '.jsx', '.css', '.html', '.proto', '.cmake', '.in', '.1', '.7',
              '.service', '.default', '.sysusers', '.postinst', '.postrm'}
SOURCE_NAMES = {'CMakeLists.txt', 'Makefile', 'rules', 'run'}
NOT_SOURCE = ('tests/data/', 'fuzz/corpus/')


def is_source(path):
    if path.startswith(NOT_SOURCE):
        return False
    name = os.path.basename(path)
    return name in SOURCE_NAMES or os.path.splitext(name)[1] in SOURCE_EXT


def main(argv):
    root = argv[1] if len(argv) > 1 else '.'
    try:
        out = subprocess.run(['git', '-C', root, 'ls-files'], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f'check-spdx: cannot list the files of {root} with git: {e}')
        return 1
    files = [f for f in out.split('\n') if f and is_source(f)]
    missing = []
    for f in files:
        with open(os.path.join(root, f), encoding='utf-8', errors='replace') as fh:
            if TAG not in fh.read(400):
                missing.append(f)
    for f in missing:
        print(f'{f}: no "{TAG}" line in its first lines')
    if missing:
        print(f'{len(missing)} of {len(files)} source files name no license (LICENSE)')
        return 1
    print(f'{len(files)} source files, each with "{TAG}"')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
