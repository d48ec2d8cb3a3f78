"""`python -m psp_eval` is the `psp-eval` command."""

import sys

from psp_eval.cli import main

sys.exit(main())
