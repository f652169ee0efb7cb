#!/usr/bin/env python3
"""Lists the import circles between the files of each crate's src/ tree.

A file depends on another when it names an item of that file's module:
`crate::a::b`, `super::x`, `self::x`, or a child module's path (`pods::x`),
in `use` declarations and in expressions alike. Root re-exports
(`pub use error::Error` in lib.rs) are followed to the module that defines
the item. Every strongly connected group of two or more files is a circle.

Usage: scripts/import-cycles.py [--check] [CRATE_DIR ...]
  --check   exit 1 when any circle is found (for `make lint`)
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_of(src: Path, path: Path) -> tuple:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


NOISE = re.compile(
    r'//[^\n]*|/\*.*?\*/|r(#*)".*?"\1|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])\'',
    re.S,
)


def strip_noise(text: str) -> str:
    """Comments and string or char literals out, in one left-to-right pass."""
    return NOISE.sub(lambda m: '""' if m.group(0)[:1] in "r\"'" else " ", text)


def expand_use(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree.split(" as ")[0]]
    head, _, rest = tree.partition("{")
    inner = rest[: rest.rfind("}")]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    out = []
    for item in filter(None, items):
        out += [head + sub for sub in expand_use(item)]
    return out


def references(text: str, module: tuple, children: set, modules: set):
    """Yields every module path (tuple) the text names, resolved absolutely."""
    # Inline `mod name {` blocks change what `super::` means inside them.
    inline_spans = []
    for m in re.finditer(rf"\bmod\s+({IDENT})\s*\{{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inline_spans.append((m.start(), i, m.group(1)))

    def scope_at(pos):
        inner = tuple(name for s, e, name in inline_spans if s <= pos < e)
        return module + inner

    def resolve(scope, path):
        segs = path.split("::")
        if segs[0] == "crate":
            base, segs = (), segs[1:]
        elif segs[0] in ("super", "self"):
            base = scope
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super":
                    base = base[:-1]
                segs = segs[1:]
        elif segs[0] in children and scope == module:
            base = module
        else:
            return None
        return base + tuple(s for s in segs if re.fullmatch(IDENT, s))

    for m in re.finditer(r"\buse\s+([^;]+);", text):
        scope = scope_at(m.start())
        for path in expand_use(m.group(1)):
            resolved = resolve(scope, path)
            if resolved is not None:
                yield resolved
    for m in re.finditer(rf"\b((?:crate|super|self|{IDENT})(?:::{IDENT})+)", text):
        resolved = resolve(scope_at(m.start()), m.group(1))
        if resolved is not None:
            yield resolved


def crate_graph(crate: Path):
    src = crate / "src"
    files = {module_of(src, p): p for p in src.rglob("*.rs")}
    modules = set(files)
    texts = {m: strip_noise(p.read_text()) for m, p in files.items()}
    # Root re-exports: `pub use error::Error;` means crate::Error is error's.
    reexports = {}
    for path in (
        p for m in re.finditer(r"\bpub\s+use\s+([^;]+);", texts.get((), "")) for p in expand_use(m.group(1))
    ):
        segs = path.split("::")
        if segs[0] == "crate":
            segs = segs[1:]
        reexports[segs[-1]] = tuple(segs[:-1])
    edges = {m: set() for m in modules}
    for module, text in texts.items():
        children = {c[-1] for c in modules if c[:-1] == module and len(c) == len(module) + 1}
        for target in references(text, module, children, modules):
            if target and target[0] in reexports:
                target = reexports[target[0]] + target[1:]
            # The longest prefix that is a file's module.
            while target not in modules and target:
                target = target[:-1]
            if target in modules and target != module:
                edges[module].add(target)
    return files, edges


def cycles(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(group)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def main(argv):
    check = "--check" in argv
    root = Path(__file__).resolve().parent.parent
    crates = [Path(a).resolve() for a in argv if not a.startswith("--")] or sorted(
        p.parent for p in root.glob("*/Cargo.toml") if (p.parent / "src").is_dir()
    )
    found = 0
    for crate in crates:
        files, edges = crate_graph(crate)
        for group in cycles(edges):
            found += 1
            names = sorted(str(files[m].relative_to(root)) for m in group)
            print(f"circle in {crate.name}: " + " <-> ".join(names))
    print(f"{found} import circle(s)")
    return 1 if check and found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
