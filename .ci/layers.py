#!/usr/bin/env python3
"""Fails when a module imports a module above it, or when modules import each other.

Rules (../shared/DESIGN.md, "Layers"):
- jsonrpc-proto/src: protocol (L0) <- peer (L1) <- service (L2) <- adapter (L3) <- testing (L4);
  the crate root (lib.rs) may use every layer. Tests of a layer that need the testing harness
  live in testing/ (nothing below imports it, tests included). A module may name only modules of its own layer or
  below. protocol/ names no cargo feature; peer/ names none of the features of the layers
  above it (http-service, websocket, tls).
- every crate of the workspace: the graph of modules (one per file) has no cycle. A `pub use`
  in a module's own facade (mod.rs / lib.rs) is a re-export, not an edge.

Edges are read from code (comments and doc text are skipped): `crate::a::b`, `super::a`,
`self::a`, grouped `use crate::{a::X, b::Y}`; a name re-exported by a facade resolves to the
file that defines it. Prints each violation and exits 1 if there is any.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CRATES = ["jsonrpc-proto", "transport-tokio", "transport-async-std", "transport-memory",
          "examples", "bench"]
LAYER = {"protocol": 0, "peer": 1, "service": 2, "adapter": 3, "testing": 4, "": 9}
UPPER_FEATURES = {"peer": ["http-service", "websocket", "tls"]}


def modules(src):
    """Maps module path (tuple) -> file, for every .rs file under src."""
    out = {}
    for d, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(d, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            out[tuple(parts)] = os.path.join(d, f)
    return out


def code_of(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = []
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("//"):
            lines.append("")
            continue
        line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)  # string literals
        lines.append(line.split("//")[0])
    return "\n".join(lines)


def expand_use(body):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    body = re.sub(r"\s+", "", body)
    def rec(prefix, s):
        res, depth, cur = [], 0, ""
        items = []
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            items.append(cur)
        for it in items:
            m = re.match(r"^([^{]*?)::\{(.*)\}$", it)
            if m:
                res += rec(prefix + m.group(1) + "::", m.group(2))
            else:
                res.append(prefix + it.split(" as ")[0].split("as")[0] if " as " in it else prefix + it)
        return res
    m = re.match(r"^\{(.*)\}$", body)
    return rec("", m.group(1)) if m else rec("", body)


def paths_in(code):
    """(path, is_reexport) for every crate-relative path the code names."""
    found = []
    for m in re.finditer(r"\b(pub(?:\([a-z]+\))?\s+)?use\s+([^;]+);", code):
        for p in expand_use(m.group(2)):
            found.append((p, bool(m.group(1))))
    scrubbed = re.sub(r"\buse\s+[^;]+;", "", code)
    for m in re.finditer(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", scrubbed):
        found.append((m.group(1), False))
    return found


def resolve(mods, here, path, reexports):
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    elif parts[0] in ("super", "self"):
        base = list(here)
        i = 0
        while i < len(parts) and parts[i] in ("super", "self"):
            if parts[i] == "super":
                base = base[:-1]
            i += 1
        base, rest = tuple(base), parts[i:]
    else:
        return None
    cur = base
    for name in rest:
        if cur + (name,) in mods:
            cur = cur + (name,)
            continue
        # a name re-exported by the facade `cur`: follow it to its module
        target = reexports.get(cur, {}).get(name)
        if target is not None:
            return target
        break
    return cur


def facade_reexports(mods):
    """For each module, name -> module a `pub use self_child::...::name` brings in."""
    out = {}
    for mod, f in mods.items():
        code = code_of(f)
        names = {}
        for m in re.finditer(r"\bpub(?:\([a-z]+\))?\s+use\s+([^;]+);", code):
            for p in expand_use(m.group(1)):
                parts = [x for x in p.split("::") if x]
                if parts and parts[0] in ("self",):
                    parts = parts[1:]
                if len(parts) >= 2 and mod + (parts[0],) in mods:
                    sub = mod + (parts[0],)
                    for seg in parts[1:-1]:
                        if sub + (seg,) in mods:
                            sub = sub + (seg,)
                    alias = parts[-1]
                    names[alias] = sub
        out[mod] = names
    return out


def is_facade(mod, mods):
    f = mods[mod]
    return os.path.basename(f) in ("mod.rs", "lib.rs", "main.rs")


def check_crate(crate, errors):
    src = os.path.join(ROOT, crate, "src")
    if not os.path.isdir(src):
        return
    mods = modules(src)
    reexports = facade_reexports(mods)
    edges = {m: set() for m in mods}
    for mod, f in mods.items():
        code = code_of(f)
        for path, reexport in paths_in(code):
            target = resolve(mods, mod, path, reexports)
            if target is None or target == mod:
                continue
            # a child naming its ancestor facade, or a facade re-exporting its child
            if reexport and is_facade(mod, mods) and target[: len(mod)] == mod:
                continue
            if crate == "jsonrpc-proto":
                lf = LAYER.get(mod[0] if mod else "", 9)
                lt = LAYER.get(target[0] if target else "", 9)
                if mod and lt > lf and lt != 9:
                    errors.append(f"{f}: upward import of {'::'.join(target)} ({path})")
                if mod and not target and lf != 9:
                    errors.append(f"{f}: names the crate root facade ({path}); name the module")
            if target and target[: len(mod)] == mod and is_facade(mod, mods) and not reexport:
                pass  # a facade using its own child is an edge like any other
            edges[mod].add(target)
        if crate == "jsonrpc-proto" and mod:
            # feature names are string literals, which code_of() blanks: read them from the
            # raw text, comment lines skipped
            raw = "\n".join(
                line for line in open(f, encoding="utf-8").read().split("\n")
                if not line.strip().startswith("//")
            )
            feats = re.findall(r'feature\s*=\s*"([^"]+)"', raw)
            if mod[0] == "protocol" and feats:
                errors.append(f"{f}: the protocol layer names a feature ({', '.join(set(feats))})")
            for bad in UPPER_FEATURES.get(mod[0], []):
                if bad in feats:
                    errors.append(f"{f}: names feature {bad!r} of a layer above")
    # cycles: Tarjan's strongly connected components
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in mods:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in mods:
        if v not in index:
            strong(v)
    for comp in comps:
        names = sorted("::".join(c) or "(crate root)" for c in comp)
        errors.append(f"{crate}: modules import each other: {', '.join(names)}")


def main():
    errors = []
    for crate in CRATES:
        check_crate(crate, errors)
    for e in errors:
        print(e)
    if errors:
        print(f"layers: {len(errors)} violation(s)")
        return 1
    print("layers: no upward import, no import cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
