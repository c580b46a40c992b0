"""Shell parsers side by side on the launcher scripts pdcheck meets (issue #11 item 1).

For each candidate: import time (fresh interpreter, median of 5), parse time per script, and
whether it parses each form. Run by hand (needs the candidates installed):

    /work/venv/bin/pip install bashlex==0.18 tree-sitter tree-sitter-bash
    /work/venv/bin/python benchmarks/shell_parsers.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

FORMS = {
    "continuation": "python3 -m sglang.launch_server \\\n  --model-path /m \\\n  --tp 8",
    "comment": "# start the server\npython3 -m sglang.launch_server --tp 8  # tp\n",
    "multi ;": "find /dev/shm -type f -delete; exec python3 -m sglang.launch_server --tp 8",
    "&& and ||": "pip install x && python3 -m sglang.launch_server --tp 8 || exit 1",
    "pipeline": "python3 -m sglang.launch_server --tp 8 2>&1 | tee /tmp/log",
    "if": "if [ \"$RANK\" = 0 ]; then python3 -m sglang.launch_server --tp 8; else sleep 1; fi",
    "${VAR:-x}": "python3 -m sglang.launch_server --tp ${TP:-8} --port $PORT",
    "arithmetic": "python3 -m sglang.launch_server --node-rank $((LWS_WORKER_INDEX + 0))",
    "command subst": "python3 -m sglang.launch_server --host $(hostname -i) --dist-init-addr `cat /a`:5000",
    "heredoc": "cat <<EOF > /tmp/c\na: 1\nEOF\npython3 -m sglang.launch_server --tp 8",
    "function": "run() { python3 -m sglang.launch_server \"$@\"; }\nrun --tp 8",
    "case": "case $R in 0) python3 -m sglang.launch_server;; *) sleep inf;; esac",
    "[[ ]] and arrays": "ARGS=(--tp 8)\n[[ -n $X ]] && python3 -m sglang.launch_server \"${ARGS[@]}\"",
    "unbalanced quote": "python3 -m sglang.launch_server --tp '8",
}


def import_time(statement: str) -> float:
    times = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", f"import time; t=time.perf_counter(); {statement}; "
                              "print(time.perf_counter()-t)"], capture_output=True, text=True, check=True)
        times.append(float(out.stdout))
    return statistics.median(times) * 1000


def bashlex_parse(text):
    import bashlex

    return bashlex.parse(text)


def treesitter_parse(text):
    import tree_sitter
    import tree_sitter_bash

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
    tree = parser.parse(text.encode())
    if tree.root_node.has_error:
        raise ValueError("ERROR node")
    return tree


def main():
    candidates = {
        "bashlex 0.18": (bashlex_parse, "import bashlex"),
        "tree-sitter-bash 0.25": (treesitter_parse, "import tree_sitter, tree_sitter_bash; "
                                  "tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))"),
    }
    for name, (parse, imp) in candidates.items():
        print(f"## {name}: import {import_time(imp):.1f} ms")
        for form, text in FORMS.items():
            start = time.perf_counter()
            try:
                for _ in range(20):
                    parse(text)
                result = "ok"
            except Exception as exc:  # noqa: BLE001 - the benchmark reports any failure
                result = f"FAILS ({type(exc).__name__}: {str(exc)[:50]})"
            took = (time.perf_counter() - start) / 20 * 1000
            print(f"  {form:18} {took:6.2f} ms  {result}")


if __name__ == "__main__":
    main()
