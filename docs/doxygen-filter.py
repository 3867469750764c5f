#!/usr/bin/env python3
"""Doxygen INPUT_FILTER: reads dtlspp's plain // comments as documentation.

dtlspp's headers document every public name in ordinary // comments, BoringSSL style ("The first
sentence begins with the symbol name"), not in /// or /** */ blocks. Doxygen only reads the latter,
so this filter rewrites (line for line, but for one line added at the top):
  - the comment block that opens a file        -> "/// @file" and that block, as the file's doc;
  - a comment line of its own                   -> "///", documenting the declaration below it;
  - a comment after a member or an enumerator   -> "///<", documenting that member;
  - comment lines indented by two or more spaces (the code samples) are indented two more, so
    that Markdown shows them as code blocks.
Usage (as Doxygen calls it): doxygen-filter.py FILE; writes the filtered file to stdout.
"""
import re
import sys

OWN_LINE = re.compile(r"^(\s*)//(?![/!<])(.*)$")
TRAILING = re.compile(r"^(\s*[^/\"]*?[;,])(\s*)//(?![/!<])\s?(.*)$")


def text(comment):
    """The comment's text, with code samples indented to a Markdown code block."""
    if re.match(r"^ {3,}\S", comment):
        return "  " + comment
    return comment


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, in_header = [], True
    for i, line in enumerate(lines):
        own = OWN_LINE.match(line)
        if in_header and own and i == 0:
            out.append("/// @file")  # (the one line added: @file takes a name on its own line)
            out.append("///" + text(own.group(2)))
            continue
        if in_header and own:
            out.append("///" + text(own.group(2)))
            continue
        in_header = False
        if own:
            out.append(own.group(1) + "///" + text(own.group(2)))
            continue
        trailing = TRAILING.match(line)
        if trailing:
            out.append(trailing.group(1) + trailing.group(2) + "///< " + trailing.group(3))
            continue
        out.append(line)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
