"""``python -m rlvr_lab`` is ``rlvr-lab``."""

from rlvr_lab.cli import main

raise SystemExit(main())
