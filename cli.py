"""Run evsim's command line from a checkout without installing: `python cli.py run ...`.

The command line itself lives in `evsim/cli.py` (installed as the `evsim` console script): a
top-level module named `cli` in site-packages would collide with other packages.
"""

from evsim.cli import main

if __name__ == "__main__":
    main()
