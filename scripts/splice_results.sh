# Sourced by the bench scripts: splice_results NAME FILE puts FILE's text into
# bench/results.md between "<!-- NAME -->" and "<!-- /NAME -->", replacing what was there
# (or at the end), so that a run that measured one part leaves the others' results alone.
splice_results() {
  python3 - "$root/bench/results.md" "$1" "$2" <<'PY'
import os, re, sys
path, name, part = sys.argv[1:]
text = open(path).read() if os.path.exists(path) else ""
start, end = "<!-- %s -->" % name, "<!-- /%s -->" % name
block = start + "\n" + open(part).read().strip() + "\n" + end
if start in text:
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
PY
}
