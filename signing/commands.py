"""Commands of the domain: print the transition table and its diagrams."""
from __future__ import annotations

import sys

from server.__main__ import command
from signing.diagram import flows_markdown, table_lines


@command("transitions", "print the transition table (--markdown: the Mermaid diagrams of every flow)")
def cmd_transitions(config, args) -> int:
    if "--markdown" in args.rest:
        sys.stdout.write(flows_markdown())
    else:
        print("\n".join(table_lines()))
    return 0
