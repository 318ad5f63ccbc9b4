// The coding surface: one page of a transcript, its codings (colour, label, layered underline,
// coding stripes in the margin), selection snapped to words, a code picker, keyboard shortcuts
// and undo. What the coder does shows at once; the server is told afterwards (trigger "actions",
// a list re-sent until the server acknowledges each by its sequence number) and its answer
// (the codings as stored) replaces the optimistic picture on the next render.
//
// All text is set with textContent (never innerHTML of user text). Offsets are code points of
// the canonical text, counted with Array.from, as Python counts str indices.

const MARGIN = 200;        // the stripes' margin, px: fixed, so the text never reflows under them
const LANE = 100;          // a lane's width while two fit; more lanes share the margin
const HELP = [
  ["Select text", "snaps to whole words (tick “exact characters” to keep the exact selection)"],
  ["Click a sentence number", "selects that sentence; click a speaker name for the whole turn"],
  ["Enter or C", "open the code picker for the selection (type to filter, ↑ ↓, Enter)"],
  ["1 … 9", "apply one of your recently used codes"],
  ["U or Ctrl+Z", "undo your last change"],
  ["N / P", "next / previous coded passage"],
  ["] / [", "next / previous page"],
  ["Esc", "close the picker or this help"],
];

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// --- snapping (mirrors workbench/coding/spans.py) ------------------------------------------
const WORDLIKE = /[\p{L}\p{N}_\p{M}]/u;
const ATTACHED = /[\p{M}\p{Sk}\u200d\ufe0e\ufe0f\u{1F3FB}-\u{1F3FF}]/u;
const INNER = new Set(["'", "\u2019", "-", "\u2010", "\u2011"]);
const isWord = (ch) => WORDLIKE.test(ch) || ATTACHED.test(ch);
function inWord(chars, i) {
  if (i <= 0 || i >= chars.length) return false;
  const before = chars[i - 1], after = chars[i];
  if (/\s/u.test(before) || /\s/u.test(after)) return false;
  if (ATTACHED.test(after) || before === "\u200d") return true;
  if (isWord(before) && isWord(after)) return true;
  if (INNER.has(after) && isWord(before) && i + 1 < chars.length && isWord(chars[i + 1])) return true;
  return INNER.has(before) && isWord(after) && i >= 2 && isWord(chars[i - 2]);
}
function snap(chars, base, start, end) {
  let a = Math.max(start - base, 0), b = Math.min(end - base, chars.length);
  while (a < b && /\s/u.test(chars[a])) a++;
  while (b > a && /\s/u.test(chars[b - 1])) b--;
  if (a === b) return [a + base, a + base];
  while (inWord(chars, a)) a--;
  while (inWord(chars, b)) b++;
  return [a + base, b + base];
}

// --- the surface ----------------------------------------------------------------------------
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let root = parentElement.querySelector(".wb-surface");
  if (!root) {
    root = el("div", "wb-surface");
    root.tabIndex = -1;
    parentElement.appendChild(root);
    root.__wb = { seq: 0, queue: [], pending: [], hidden: new Set(), key: null, selection: null };
  }
  const st = root.__wb;
  st.data = data;
  st.send = setTriggerValue;
  st.chars = Array.from(data.text);
  // what the server has handled leaves the queue; what it has not is sent again
  st.queue = st.queue.filter((a) => a.seq > (data.ack || 0));
  st.pending = st.pending.filter((p) => p.seq > (data.ack || 0));
  st.hidden = st.queue.length ? st.hidden : new Set();
  if (data.ack > st.seq) st.seq = data.ack;

  if (st.key !== data.key) {
    st.key = data.key;
    st.selection = null;
    st.dragging = false;
    build(root, st);
    // a transcript chosen in a list leaves the focus there, where the shortcuts cannot reach
    const active = document.activeElement;
    if (active && active.getAttribute && active.getAttribute("role") === "combobox" && !root.contains(active)) active.blur();
    if (data.focus) requestAnimationFrame(() => scrollToOffset(root, data.focus.start));
  }
  if (st.dragging) st.deferred = true;  // never redraw under a selection being made
  else paint(root, st);
  toolbar(root, st);
  if (st.queue.length) flush(st);

  // one listener each, whether or not Streamlit calls the clean-up between renders
  if (root.__listeners) root.__listeners();
  const onKey = (event) => keydown(event, root, st);
  const onResize = () => stripes(root, st);
  // anything that moves the text (fonts, the panel, a window resize) moves the stripes with it
  if (!root.__observer && window.ResizeObserver) {
    root.__observer = new ResizeObserver(() => requestAnimationFrame(() => stripes(root, st)));
  }
  const text = root.querySelector(".wb-text");
  if (root.__observer && text && root.__observed !== text) {
    root.__observer.disconnect();
    root.__observer.observe(text);
    root.__observed = text;
  }
  // a drag may end anywhere on the page: the surface must not stay "dragging"
  const onUp = () => setTimeout(() => {
    if (!st.dragging) return;
    st.dragging = false;
    fromBrowserSelection(root, st);
    if (st.deferred) { st.deferred = false; paint(root, st); }
  }, 0);
  document.addEventListener("keydown", onKey);
  document.addEventListener("mouseup", onUp);
  window.addEventListener("resize", onResize);
  root.__listeners = () => {
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("mouseup", onUp);
    window.removeEventListener("resize", onResize);
    root.__listeners = null;
  };
  return root.__listeners;
}

function flush(st) {
  st.send("actions", st.queue.map((a) => ({ ...a })));
}

function act(root, st, action) {
  st.seq += 1;
  const entry = { ...action, seq: st.seq };
  st.queue.push(entry);
  flush(st);
  return entry;
}

function build(root, st) {
  const d = st.data;
  st.painted = null;
  root.replaceChildren();
  const bar = el("div", "wb-bar");
  root.appendChild(bar);
  const scroll = el("div", "wb-scroll");
  const doc = el("div", "wb-doc");
  const text = el("div", "wb-text");
  const margin = el("div", "wb-margin");
  doc.append(text, margin);
  scroll.appendChild(doc);
  root.appendChild(scroll);
  for (const turn of d.turns) {
    const box = el("div", "wb-turn" + (turn.iv ? " wb-interviewer" : ""));
    box.dataset.turn = turn.i;
    const who = el("div", "wb-who");
    const name = el("span", "wb-name", turn.who || "(no speaker)");
    if (turn.talk) {
      name.title = "Select the whole turn";
      name.onclick = () => choose(root, st, turn.talk[0], turn.talk[1], false);
    }
    who.appendChild(name);
    const info = [`turn ${turn.i + 1}`];
    if (turn.role) info.push(turn.role);
    if (turn.time) info.push(turn.time);
    who.appendChild(el("span", "wb-info", " · " + info.join(" · ")));
    box.appendChild(who);
    const talk = el("div", "wb-talk");
    for (const part of turn.parts) {
      if (part === null) { talk.appendChild(document.createElement("br")); continue; }
      const [a, b, n] = part;
      if (n) {
        const number = el("span", "wb-n", String(n));
        number.title = "Select sentence " + n;
        number.onclick = () => choose(root, st, a, b, false);
        talk.appendChild(number);
      }
      const run = el("span", "wb-run");
      run.dataset.a = a;
      run.dataset.b = b;
      talk.appendChild(run);
    }
    box.appendChild(talk);
    text.appendChild(box);
  }
  const picker = el("div", "wb-picker");
  picker.hidden = true;
  const pop = el("div", "wb-pop");
  pop.hidden = true;
  const help = el("div", "wb-help");
  help.hidden = true;
  help.appendChild(el("div", "wb-help-title", "Keyboard and mouse"));
  const table = el("table");
  for (const [keys, what] of HELP) {
    const row = el("tr");
    row.append(el("th", null, keys), el("td", null, what));
    table.appendChild(row);
  }
  help.appendChild(table);
  root.append(picker, pop, help);
  text.onmousedown = () => { st.dragging = true; };
}

// The codings to show now: the server's, minus those being deleted, plus those being added.
function shown(st) {
  const d = st.data;
  const list = d.codings.filter((c) => !st.hidden.has(c.id)).map((c) => ({ ...c }));
  for (const p of st.pending) {
    const old = list.find((c) => c.id === p.id);
    if (p.kind === "change" && old) Object.assign(old, p.fields);
    if (p.kind === "add") list.push({ ...p.fields, id: "p" + p.seq, own: true, pending: true });
  }
  return list;
}

function layers(codings) {
  // greedy interval colouring: overlapping codings get different underline layers
  const ends = [];
  for (const c of [...codings].sort((x, y) => x.start - y.start || y.end - x.end)) {
    let layer = ends.findIndex((e) => e <= c.start);
    if (layer === -1) { layer = ends.length; ends.push(0); }
    ends[layer] = c.end;
    c.layer = layer;
  }
  return codings;
}

function paint(root, st) {
  const d = st.data;
  const codings = layers(shown(st));
  const sel = st.selection;
  // an unchanged picture is not redrawn (a redraw would drop a selection the coder is making)
  const signature = JSON.stringify([codings, sel, d.focus, d.key]);
  if (signature === st.painted) return;
  st.painted = signature;
  st.shown = codings;
  for (const run of root.querySelectorAll(".wb-run")) {
    const a = +run.dataset.a, b = +run.dataset.b;
    const cuts = new Set([a, b]);
    const here = codings.filter((c) => c.start < b && c.end > a);
    for (const c of here) for (const p of [c.start, c.end]) if (p > a && p < b) cuts.add(p);
    if (sel) for (const p of [sel.start, sel.end]) if (p > a && p < b) cuts.add(p);
    if (d.focus) for (const p of [d.focus.start, d.focus.end]) if (p > a && p < b) cuts.add(p);
    const points = [...cuts].sort((x, y) => x - y);
    run.replaceChildren();
    for (let k = 0; k + 1 < points.length; k++) {
      const x = points[k], y = points[k + 1];
      const piece = el("span", null, st.chars.slice(x - d.base, y - d.base).join(""));
      piece.dataset.o = x;
      const covering = here.filter((c) => c.start <= x && c.end >= y);
      if (covering.length) {
        piece.className = "wb-mark";
        covering.sort((p, q) => p.layer - q.layer);
        piece.style.boxShadow = covering.map((c, i) =>
          `inset 0 -${3 * (i + 1)}px 0 0 ${c.own ? c.color : "#9a9a9a"}`).join(", ");
        piece.style.paddingBottom = `${3 * covering.length - 2}px`;
        const inner = covering.reduce((p, q) => (q.end - q.start < p.end - p.start ? q : p));
        piece.style.backgroundColor = (inner.own ? inner.color : "#9a9a9a") + "26";
        piece.title = covering.map((c) => c.label).join("\n");
        piece.dataset.ids = covering.map((c) => c.id).join(" ");
        if (covering.some((c) => c.pending)) piece.classList.add("wb-pending");
        for (const c of covering) {
          if (c.start === x) {
            piece.classList.add("wb-first");
            piece.dataset.label = (piece.dataset.label ? piece.dataset.label + " · " : "") + c.code.split("/").pop();
            piece.style.setProperty("--wb-chip", c.own ? c.color : "#9a9a9a");
            piece.style.setProperty("--wb-chip-ink", inkFor(c.own ? c.color : "#9a9a9a"));
          }
        }
        piece.onclick = (event) => {
          if (!window.getSelection().isCollapsed) return;
          openCodings(root, st, covering.map((c) => c.id), event);
        };
      }
      if (sel && x >= sel.start && y <= sel.end) piece.classList.add("wb-selected");
      if (d.focus && x >= d.focus.start && y <= d.focus.end) piece.classList.add("wb-opened");
      run.appendChild(piece);
    }
  }
  requestAnimationFrame(() => stripes(root, st));
}

function stripes(root, st) {
  const doc = root.querySelector(".wb-doc");
  const margin = root.querySelector(".wb-margin");
  if (!doc || !margin) return;
  const top0 = doc.getBoundingClientRect().top;
  const spans = new Map();  // coding id -> [top, bottom], in one pass over the marks
  for (const piece of root.querySelectorAll(".wb-mark")) {
    const rects = piece.getClientRects();
    if (!rects.length) continue;
    const top = rects[0].top - top0, bottom = rects[rects.length - 1].bottom - top0;
    for (const id of piece.dataset.ids.split(" ")) {
      const seen = spans.get(id);
      spans.set(id, seen ? [Math.min(seen[0], top), Math.max(seen[1], bottom)] : [top, bottom]);
    }
  }
  const extents = [];
  for (const c of st.shown || []) {
    const span = spans.get(String(c.id));
    if (span && span[0] < span[1]) extents.push({ c, top: span[0], bottom: span[1] });
  }
  extents.sort((p, q) => p.top - q.top || q.bottom - p.bottom);
  const lanes = [];
  margin.replaceChildren();
  for (const e of extents) {
    let lane = lanes.findIndex((bottom) => bottom + 18 <= e.top);
    if (lane === -1) { lane = lanes.length; lanes.push(0); }
    lanes[lane] = Math.max(e.bottom, e.top + 16);
    const stripe = el("div", "wb-stripe" + (e.c.pending ? " wb-pending" : ""));
    stripe.style.top = `${e.top}px`;
    stripe.style.height = `${Math.max(e.bottom - e.top, 16)}px`;
    stripe.dataset.lane = lane;
    stripe.style.setProperty("--wb-colour", e.c.own ? e.c.color : "#9a9a9a");
    stripe.dataset.id = e.c.id;
    stripe.title = e.c.label + (e.c.memo ? "\nMemo: " + e.c.memo : "");
    stripe.appendChild(el("span", "wb-stripe-label", e.c.code.split("/").pop()));
    stripe.onclick = (event) => openCodings(root, st, [e.c.id], event);
    margin.appendChild(stripe);
  }
  const width = Math.min(LANE, MARGIN / Math.max(1, lanes.length));
  margin.classList.toggle("wb-narrow", width < 60);  // many overlaps: bars only, names on hover
  for (const stripe of margin.children) {
    stripe.style.left = `${+stripe.dataset.lane * width}px`;
    stripe.style.width = `${width - 4}px`;
  }
}

// --- selection -------------------------------------------------------------------------------
function offsetOf(node, off) {
  if (node.nodeType === 3) {
    const piece = node.parentElement && node.parentElement.closest("[data-o]");
    if (!piece) return null;
    return +piece.dataset.o + Array.from(node.textContent.slice(0, off)).length;
  }
  const child = node.childNodes[off];
  const inside = child && (child.matches && child.matches("[data-o]") ? child
    : (child.querySelector ? child.querySelector("[data-o]") : null));
  if (inside) return +inside.dataset.o;
  const all = node.querySelectorAll ? node.querySelectorAll("[data-o]") : [];
  const last = all[all.length - 1];
  return last ? +last.dataset.o + Array.from(last.textContent).length : null;
}

function fromBrowserSelection(root, st) {
  const sel = window.getSelection();
  if (!sel || sel.isCollapsed || !root.contains(sel.anchorNode) || !root.contains(sel.focusNode)) return;
  const a = offsetOf(sel.anchorNode, sel.anchorOffset), b = offsetOf(sel.focusNode, sel.focusOffset);
  if (a === null || b === null || a === b) return;
  const exact = root.querySelector(".wb-exact input");
  choose(root, st, Math.min(a, b), Math.max(a, b), !(exact && exact.checked));
  sel.removeAllRanges();
}

function choose(root, st, start, end, snapIt) {
  if (!st.data.editable) return;
  let [a, b] = snapIt ? snap(st.chars, st.data.base, start, end) : [start, end];
  if (a >= b) return;
  st.selection = { start: a, end: b, snapped: snapIt };
  closePop(root);
  paint(root, st);
  openPicker(root, st);
}

function selectedText(st) {
  const s = st.selection;
  return s ? st.chars.slice(s.start - st.data.base, s.end - st.data.base).join("") : "";
}

// --- applying, changing, deleting, undo ----------------------------------------------------
function apply(root, st, path, { proposeName = null } = {}) {
  const s = st.selection;
  if (!s || !st.data.editable) return;
  const code = st.data.codes.find((c) => c.path === path);
  const colour = code ? code.color : "#555555";
  const label = proposeName || path;
  const entry = act(root, st, { type: proposeName ? "invivo" : "apply", start: s.start, end: s.end,
    code: path, name: proposeName, snap: !!s.snapped });
  st.pending.push({ seq: entry.seq, kind: "add",
    fields: { start: s.start, end: s.end, code: label, label, color: colour, memo: "" } });
  st.recent = [path, ...(st.recent || st.data.recent).filter((p) => p !== path)].slice(0, 9);
  st.selection = null;
  closePicker(root);
  paint(root, st);
  toolbar(root, st);
}

function remove(root, st, id) {
  act(root, st, { type: "delete", id });
  st.hidden.add(id);
  closePop(root);
  paint(root, st);
  toolbar(root, st);
}

function change(root, st, id, fields) {
  const entry = act(root, st, { type: "change", id, ...fields });
  const shownFields = { ...fields };
  if (fields.code) {
    const code = st.data.codes.find((c) => c.path === fields.code);
    shownFields.label = fields.code;
    if (code) shownFields.color = code.color;
  }
  st.pending.push({ seq: entry.seq, kind: "change", id, fields: shownFields });
  closePop(root);
  closePicker(root);
  paint(root, st);
  toolbar(root, st);
}

function undo(root, st) {
  if (!st.data.editable || !(st.data.undo || st.queue.some((a) => a.type !== "undo"))) return;
  // the server's last step is known when nothing else is on its way: draw its reverse at once
  const step = st.queue.length ? null : st.data.undoTop;
  const entry = act(root, st, { type: "undo" });
  if (step) {
    if (step.action === "add") st.hidden.add(step.id);
    else if (step.action === "change") st.pending.push({ seq: entry.seq, kind: "change", id: step.id, fields: step.shown });
    else if (step.action === "delete") st.pending.push({ seq: entry.seq, kind: "add", fields: step.shown });
    paint(root, st);
  }
  toolbar(root, st);
}

// --- the code picker -------------------------------------------------------------------------
function openPicker(root, st, mode = { kind: "apply" }) {
  const picker = root.querySelector(".wb-picker");
  const d = st.data;
  picker.replaceChildren();
  picker.hidden = false;
  picker.dataset.mode = mode.kind;
  const title = mode.kind === "apply" ? `Code “${short(selectedText(st), 60)}”` : "Change the code to";
  picker.appendChild(el("div", "wb-picker-title", title));
  const input = el("input", "wb-filter");
  input.placeholder = "Type to filter codes";
  input.setAttribute("aria-label", "Filter codes");
  picker.appendChild(input);
  const list = el("div", "wb-options");
  list.setAttribute("role", "listbox");
  picker.appendChild(list);
  let active = 0;
  const recent = st.recent || d.recent;
  const render = () => {
    const q = input.value.trim().toLowerCase();
    let matches = d.codes.filter((c) => !q || c.path.toLowerCase().includes(q));
    if (q && !matches.length) {  // a typo: the nearest names, before any new code
      matches = d.codes.map((c) => [similarity(q, c.name.toLowerCase()), c]).filter(([score]) => score >= 0.35)
        .sort((a, b) => b[0] - a[0]).slice(0, 6).map(([, c]) => c);
    }
    const ordered = q ? matches : [...recent.map((p) => matches.find((c) => c.path === p)).filter(Boolean),
      ...matches.filter((c) => !recent.includes(c.path))];
    const options = ordered.map((c) => ({ kind: "code", code: c, recent: recent.includes(c.path) && !q }));
    if (mode.kind === "apply") {
      const words = short(selectedText(st).replace(/\s+/g, " ").trim(), 60);
      if (q && !d.codes.some((c) => c.name.toLowerCase() === q)) options.push({ kind: "new", name: input.value.trim(), typed: true });
      else if (words) options.push({ kind: "new", name: words, invivo: true });
    }
    active = Math.min(active, Math.max(options.length - 1, 0));
    list.replaceChildren();
    options.forEach((o, k) => {
      const row = el("div", "wb-option" + (k === active ? " wb-active" : ""));
      row.setAttribute("role", "option");
      if (o.kind === "code") {
        const swatch = el("span", "wb-swatch");
        swatch.style.background = o.code.color;
        row.append(swatch, el("span", "wb-path", o.code.path));
        if (o.recent) {
          const n = recent.indexOf(o.code.path) + 1;
          row.appendChild(el("span", "wb-key", n <= 9 ? String(n) : "recent"));
        }
        row.dataset.path = o.code.path;
      } else {
        const confirm = picker.__confirm === o.name ? " — Enter or click again to create it" : "";
        row.append(el("span", "wb-swatch wb-new", "+"),
          el("span", "wb-path", (o.invivo ? "In vivo: new code " : "New proposed code ") + `“${o.name}”` + confirm));
      }
      row.onmousedown = (event) => { event.preventDefault(); choosePicked(o); };
      list.appendChild(row);
    });
    const current = list.children[active];
    if (current) current.scrollIntoView({ block: "nearest" });
    picker.__options = options;
  };
  const choosePicked = (o) => {
    if (!o) return;
    if (mode.kind === "change") { if (o.kind === "code") change(root, st, mode.id, { code: o.code.path }); return; }
    if (o.kind === "code") { apply(root, st, o.code.path); return; }
    if (picker.__confirm !== o.name) { picker.__confirm = o.name; render(); return; }  // a new code is a deliberate step
    picker.__confirm = null;
    apply(root, st, o.name, { proposeName: o.name });
  };
  picker.__confirm = null;
  input.oninput = () => { active = 0; render(); };
  input.onkeydown = (event) => {
    const options = picker.__options || [];
    const n = options.length;
    if (/^[1-9]$/.test(event.key) && !input.value && mode.kind === "apply" && recent[+event.key - 1]) {
      apply(root, st, recent[+event.key - 1]);  // a recent code by its number, straight after selecting
      event.preventDefault();
    }
    else if (event.key === "ArrowDown") { active = n ? (active + 1) % n : 0; render(); event.preventDefault(); }
    else if (event.key === "ArrowUp") { active = n ? (active - 1 + n) % n : 0; render(); event.preventDefault(); }
    else if (event.key === "Enter") { choosePicked(options[active]); event.preventDefault(); }
    else if (event.key === "Escape") { closePicker(root); event.preventDefault(); }
    event.stopPropagation();
  };
  render();
  place(root, picker, mode.anchor);
  input.focus({ preventScroll: true });
}

function place(root, box, anchor) {
  const rootRect = root.getBoundingClientRect();
  let rect = anchor;
  if (!rect) {
    const chosen = root.querySelectorAll(".wb-selected");
    const last = chosen[chosen.length - 1];
    rect = last ? last.getBoundingClientRect() : root.querySelector(".wb-scroll").getBoundingClientRect();
  }
  const top = Math.min(rect.bottom - rootRect.top + 6, root.clientHeight - 40);
  const left = Math.max(0, Math.min(rect.left - rootRect.left, root.clientWidth - 360));
  box.style.top = `${Math.max(top, 30)}px`;
  box.style.left = `${left}px`;
}

function closePicker(root) {
  const picker = root.querySelector(".wb-picker");
  if (picker) picker.hidden = true;
}

// --- a coding's card: code, coder, memo; change, memo, delete --------------------------------
function openCodings(root, st, ids, event) {
  const pop = root.querySelector(".wb-pop");
  pop.replaceChildren();
  for (const id of ids) {
    const c = st.shown.find((x) => String(x.id) === String(id));
    if (!c) continue;
    const card = el("div", "wb-card");
    const head = el("div", "wb-card-head");
    const swatch = el("span", "wb-swatch");
    swatch.style.background = c.own ? c.color : "#9a9a9a";
    head.append(swatch, el("b", null, c.code), el("span", "wb-coder", c.own ? "" : ` (${c.coder})`));
    card.appendChild(head);
    card.appendChild(el("div", "wb-quote", short(st.chars.slice(c.start - st.data.base, c.end - st.data.base).join(""), 200)));
    if (c.memo) card.appendChild(el("div", "wb-memo", "Memo: " + c.memo));
    if (c.own && st.data.editable && !c.pending) {
      const buttons = el("div", "wb-buttons");
      const recode = el("button", null, "Change code");
      recode.onclick = () => openPicker(root, st, { kind: "change", id: c.id, anchor: card.getBoundingClientRect() });
      const memo = el("button", null, c.memo ? "Edit memo" : "Add memo");
      memo.onclick = () => {
        const area = el("textarea", "wb-memo-edit");
        area.value = c.memo || "";
        area.setAttribute("aria-label", "Memo");
        const save = el("button", null, "Save memo");
        save.onclick = () => change(root, st, c.id, { memo: area.value });
        area.onkeydown = (e) => e.stopPropagation();
        card.append(area, save);
        area.focus();
      };
      const del = el("button", "wb-delete", "Delete");
      del.title = "Delete this coding (U undoes it)";
      del.onclick = () => remove(root, st, c.id);
      buttons.append(recode, memo, del);
      card.appendChild(buttons);
    }
    pop.appendChild(card);
  }
  pop.hidden = !pop.children.length;
  const target = event && event.currentTarget;
  place(root, pop, target ? target.getBoundingClientRect() : null);
}

function closePop(root) {
  const pop = root.querySelector(".wb-pop");
  if (pop) pop.hidden = true;
}

// --- the toolbar: page, saving state, undo, whole words, help ------------------------------
function toolbar(root, st) {
  const d = st.data;
  const bar = root.querySelector(".wb-bar");
  const exactWas = bar.querySelector(".wb-exact input");
  const exactChecked = exactWas ? exactWas.checked : false;
  bar.replaceChildren();
  const button = (label, title, onclick, disabled) => {
    const b = el("button", null, label);
    b.title = title;
    b.disabled = !!disabled;
    b.onclick = onclick;
    bar.appendChild(b);
    return b;
  };
  button("◀", "Previous page ([)", () => turnPage(root, st, d.page - 1), d.page <= 0);
  bar.appendChild(el("span", "wb-page", `Page ${d.page + 1} of ${d.pages}`));
  button("▶", "Next page (])", () => turnPage(root, st, d.page + 1), d.page >= d.pages - 1);
  button("◀ coded", "Previous coded passage (P)", () => jump(root, st, -1));
  button("coded ▶", "Next coded passage (N)", () => jump(root, st, 1));
  if (d.editable) {
    button("↶ Undo", "Undo your last change (U or Ctrl+Z)", () => undo(root, st),
      !(d.undo || st.queue.some((a) => a.type !== "undo")));
    const exact = el("label", "wb-exact");
    const box = el("input");
    box.type = "checkbox";
    box.checked = exactChecked;
    exact.append(box, document.createTextNode(" exact characters"));
    exact.title = "Keep the exact characters selected instead of snapping to whole words";
    bar.appendChild(exact);
  }
  const labels = el("label", "wb-exact");
  const labelBox = el("input");
  labelBox.type = "checkbox";
  labelBox.checked = root.classList.contains("wb-labels");
  labelBox.onchange = () => root.classList.toggle("wb-labels", labelBox.checked);
  labels.append(labelBox, document.createTextNode(" names in the text"));
  labels.title = "Also show each code's name where its passage starts (the margin always shows them)";
  bar.appendChild(labels);
  const state = st.queue.length ? "Saving…" : (d.error ? d.error : (d.editable ? "All changes saved" : d.status || ""));
  const status = el("span", "wb-status" + (d.error && !st.queue.length ? " wb-error" : ""), state);
  status.setAttribute("role", "status");
  bar.appendChild(status);
  button("?", "Keyboard shortcuts", () => toggleHelp(root));
}

function toggleHelp(root) {
  const help = root.querySelector(".wb-help");
  help.hidden = !help.hidden;
}

function turnPage(root, st, page, edge) {
  if (page < 0 || page >= st.data.pages || page === st.data.page) return;
  root.querySelector(".wb-scroll").classList.add("wb-loading");
  act(root, st, { type: "page", page, edge: edge || null });
}

function jump(root, st, direction) {
  const scroll = root.querySelector(".wb-scroll");
  const mine = (st.shown || []).filter((c) => c.own).sort((a, b) => a.start - b.start);
  const current = st.cursor === undefined ? (direction > 0 ? -1 : Infinity) : st.cursor;
  const next = direction > 0 ? mine.find((c) => c.start > current) : [...mine].reverse().find((c) => c.start < current);
  if (next) {
    st.cursor = next.start;
    scrollToOffset(root, next.start);
    return;
  }
  const page = direction > 0 ? st.data.nextCoded : st.data.prevCoded;
  if (page !== null && page !== undefined) {
    st.cursor = undefined;
    turnPage(root, st, page, direction > 0 ? "first" : "last");
  } else if (scroll) {
    scroll.classList.add("wb-nomore");
    setTimeout(() => scroll.classList.remove("wb-nomore"), 400);
  }
}

function scrollToOffset(root, offset) {
  const pieces = [...root.querySelectorAll("[data-o]")];
  const target = pieces.find((p) => +p.dataset.o + Array.from(p.textContent).length > offset) || pieces[pieces.length - 1];
  if (!target) return;
  const scroll = root.querySelector(".wb-scroll");
  const top = target.getBoundingClientRect().top - scroll.getBoundingClientRect().top + scroll.scrollTop;
  scroll.scrollTo({ top: Math.max(0, top - scroll.clientHeight / 3) });
  target.classList.add("wb-flash");
  setTimeout(() => target.classList.remove("wb-flash"), 900);
}

function keydown(event, root, st) {
  if (!root.isConnected) return;
  const t = event.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
  if (event.altKey || (event.metaKey && event.key.toLowerCase() !== "z") || (event.ctrlKey && event.key.toLowerCase() !== "z")) return;
  const key = event.key;
  const d = st.data;
  let handled = true;
  if (key === "Escape") { closePicker(root); closePop(root); root.querySelector(".wb-help").hidden = true; }
  else if ((key === "z" || key === "Z") && (event.ctrlKey || event.metaKey)) undo(root, st);
  else if (key === "u" || key === "U") undo(root, st);
  else if ((key === "Enter" || key === "c" || key === "C") && st.selection) openPicker(root, st);
  else if (/^[1-9]$/.test(key) && st.selection) {
    const path = (st.recent || d.recent)[+key - 1];
    if (path) apply(root, st, path); else handled = false;
  }
  else if (key === "n" || key === "N") jump(root, st, 1);
  else if (key === "p" || key === "P") jump(root, st, -1);
  else if (key === "]") turnPage(root, st, d.page + 1);
  else if (key === "[") turnPage(root, st, d.page - 1);
  else if (key === "?") toggleHelp(root);
  else handled = false;
  if (handled) event.preventDefault();
}

// Dice coefficient of character pairs: how alike two names are ("capcity" and "capacity": 0.77)
function similarity(a, b) {
  const pairs = (t) => { const out = new Map(); for (let i = 0; i + 1 < t.length; i++) { const p = t.slice(i, i + 2); out.set(p, (out.get(p) || 0) + 1); } return out; };
  const x = pairs(a), y = pairs(b);
  let shared = 0, total = 0;
  for (const [p, k] of x) { shared += Math.min(k, y.get(p) || 0); total += k; }
  for (const k of y.values()) total += k;
  return total ? (2 * shared) / total : 0;
}

// dark text on a light colour, white on a dark one
function inkFor(colour) {
  const hex = colour.replace("#", "");
  const full = hex.length === 3 ? hex.split("").map((c) => c + c).join("") : hex;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.55 ? "#111" : "#fff";
}

function short(text, limit) {
  const chars = Array.from(text);
  return chars.length <= limit ? text : chars.slice(0, limit - 1).join("") + "…";
}
