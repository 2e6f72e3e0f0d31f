"""Prints C++ RE2's ProgramSize() (what Envoy checks) of each regex given as an argument.

Used by hand to fill the table in libs/mesh-catalog/test/re2-program-size.spec.ts; not run in CI.
  python3 -m venv /tmp/re2 && /tmp/re2/bin/pip install google-re2
  /tmp/re2/bin/python tools/re2-sizes/sizes.py '[^/]{1,20}' '/books'
"""
import json
import sys

import re2

for pattern in sys.argv[1:]:
    print(json.dumps([pattern, re2.compile(pattern)._regexp.ProgramSize()]))
