#!/usr/bin/env python3
"""Issue 16's size rules for the code outside tests/: no source file over 400 lines, no function over 60
lines (declarative tables, a brace initializer after '=', are exempt). Prints each breach; exit 1 if any.
A function is a braced body opened outside any other function, other than a namespace, class, struct,
union, enum or extern block; its length runs from the line that opens it to the line that closes it."""
import re
import subprocess
import sys

MAX_FILE, MAX_FUNCTION = 400, 60
SCOPES = re.compile(r'^\s*(?:template\s*<[^>]*>\s*)?(namespace|class|struct|union|enum|extern)\b')


def code_only(text):
    """The text with comments, string and character literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append('\n' * text.count('\n', i, j))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            end = text.find(')' + (m.group(1) if m else '') + '"', i)
            j = n if end < 0 else end + len(m.group(1) if m else '') + 2
            out.append('""' + '\n' * text.count('\n', i, j))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def breaches(path):
    text = open(path, encoding='utf-8').read()
    lines = text.count('\n')
    if lines > MAX_FILE:
        yield f'{path}: {lines} lines (at most {MAX_FILE})'
    code = '\n'.join('' if l.lstrip().startswith('#') else l for l in code_only(text).split('\n'))
    stack = []  # per open brace: 'scope', 'table', 'block' or ('function', start line, header)
    line, header = 1, ''
    for c in code:
        if c == '\n':
            line += 1
            header += ' '
        elif c == '{':
            in_function = any(isinstance(s, tuple) for s in stack) or 'table' in stack
            if in_function:
                stack.append('block')
            elif SCOPES.match(header.strip()) or header.strip().endswith('='):
                stack.append('table' if header.strip().endswith('=') else 'scope')
            else:
                stack.append(('function', line, ' '.join(header.split())[-80:]))
            header = ''
        elif c == '}':
            top = stack.pop() if stack else None
            if isinstance(top, tuple) and line - top[1] + 1 > MAX_FUNCTION:
                yield f'{path}:{top[1]}: a function of {line - top[1] + 1} lines (at most {MAX_FUNCTION}): {top[2]}'
            header = ''
        elif c == ';':
            header = ''
        else:
            header += c


def main():
    files = subprocess.run(['git', 'ls-files', '*.cpp', '*.hpp'], capture_output=True, text=True, check=True,
                           cwd=sys.argv[1] if len(sys.argv) > 1 else '.').stdout.split()
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    found = [b for f in files if not f.startswith('tests/') for b in breaches(f'{root}/{f}')]
    print('\n'.join(found) if found else 'every source file and function within the limits')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
