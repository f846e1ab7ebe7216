"""python -m server COMMAND: the commands are listed in server/cli.py."""
import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main())
