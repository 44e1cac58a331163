// The replay waterfall of one session and its event panel.
//
// The timeline JSON has no event bodies, so 10,000 events load quickly; only
// the rows in view are in the DOM. Clicking a row (or Enter) fetches that
// event's full JSON. All user text is set with textContent, never as HTML.
"use strict";

(function () {
  const root = document.getElementById("replay");
  if (!root) return;
  const scroller = document.getElementById("waterfall-scroll");
  const rowsBox = document.getElementById("waterfall-rows");
  const axis = document.getElementById("waterfall-axis");
  const status = document.getElementById("waterfall-status");
  const panel = document.getElementById("event-panel");
  const ROW_HEIGHT = 26;
  const OVERSCAN = 10;
  const MIN_BAR_PX = 3;
  const KNOWN_KINDS = ["llm", "tool", "action", "error"];

  let rows = [];
  let span = 1;
  let selected = -1;
  let pendingDetail = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function kindClass(event) {
    if (event.error) return "kind-error";
    return KNOWN_KINDS.includes(event.kind) ? "kind-" + event.kind : "kind-other";
  }

  function formatOffset(us) {
    if (us < 1000) return Math.round(us) + " µs";
    if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 1 : 0) + " ms";
    if (us < 60e6) return (us / 1e6).toFixed(us < 1e7 ? 2 : 1) + " s";
    const minutes = Math.floor(us / 60e6);
    return minutes + " min " + String(Math.floor((us % 60e6) / 1e6)).padStart(2, "0") + " s";
  }

  function label(event) {
    return event.name || event.model || event.kind;
  }

  // Rows: a header per agent, then its events as a tree (children under
  // their parent span), each level ordered by start time.
  function buildRows(timeline) {
    const groups = new Map();
    for (const event of timeline.events) {
      const key = event.agent || "";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(event);
    }
    const result = [];
    for (const [agent, events] of groups) {
      let title = "Events";
      if (agent) title = "Agent: " + (timeline.agents[agent] || agent);
      else if (groups.size > 1) title = "Events without an agent";
      result.push({ group: true, label: title });
      const ids = new Set(events.map((e) => e.id));
      const children = new Map();
      const roots = [];
      for (const event of events) {
        if (event.parent && event.parent !== event.id && ids.has(event.parent)) {
          if (!children.has(event.parent)) children.set(event.parent, []);
          children.get(event.parent).push(event);
        } else {
          roots.push(event);
        }
      }
      const visited = new Set();
      const stack = roots.slice().reverse().map((event) => [event, 0]);
      while (stack.length) {
        const [event, depth] = stack.pop();
        if (visited.has(event.id)) continue;
        visited.add(event.id);
        result.push({ event, depth });
        const kids = children.get(event.id) || [];
        for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
      }
      // Events caught in a parent cycle are never reached from a root.
      for (const event of events) {
        if (!visited.has(event.id)) result.push({ event, depth: 0 });
      }
    }
    return result;
  }

  function drawAxis() {
    axis.replaceChildren();
    const ticks = Math.max(1, Math.min(4, Math.floor(axis.clientWidth / 70)));
    for (let i = 0; i <= ticks; i++) {
      const tick = el("span", i === ticks ? "last" : "", formatOffset((span * i) / ticks));
      tick.style.left = (100 * i) / ticks + "%";
      axis.appendChild(tick);
    }
  }

  function rowElement(index) {
    const row = rows[index];
    if (row.group) {
      const header = el("div", "wf-group", row.label);
      header.style.top = index * ROW_HEIGHT + "px";
      return header;
    }
    const event = row.event;
    const node = el("div", "wf-row");
    node.id = "wf-row-" + index;
    node.setAttribute("role", "option");
    node.setAttribute("aria-selected", index === selected ? "true" : "false");
    node.dataset.index = String(index);
    node.dataset.depth = String(row.depth);
    node.style.top = index * ROW_HEIGHT + "px";

    const name = el("div", "wf-label");
    name.style.paddingLeft = row.depth * 14 + "px";
    name.appendChild(el("span", "wf-dot " + kindClass(event)));
    name.appendChild(document.createTextNode(label(event)));
    const duration = event.end !== null ? event.end - event.start : null;
    name.title = label(event) + " · " + event.kind + (duration !== null ? " · " + formatOffset(duration) : "");

    const track = el("div", "wf-track");
    // Positions are fractions of the track less the bars' minimum width,
    // so an event at the very end stays visible.
    const bar = el("div", "wf-bar " + kindClass(event));
    const startFraction = Math.min(Math.max(event.start / span, 0), 1);
    const widthFraction = duration !== null ? Math.min(Math.max(duration, 0) / span, 1 - startFraction) : 0;
    bar.style.left = "calc((100% - " + MIN_BAR_PX + "px) * " + startFraction + ")";
    bar.style.width = "calc((100% - " + MIN_BAR_PX + "px) * " + widthFraction + " + " + MIN_BAR_PX + "px)";
    track.appendChild(bar);
    node.append(name, track);
    return node;
  }

  function render() {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const count = Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(rows.length, first + count);
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.appendChild(rowElement(i));
    rowsBox.replaceChildren(fragment);
    if (selected >= first && selected < last) {
      scroller.setAttribute("aria-activedescendant", "wf-row-" + selected);
    } else {
      scroller.removeAttribute("aria-activedescendant");
    }
  }

  function scrollIntoView(index) {
    const top = index * ROW_HEIGHT;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW_HEIGHT > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = top + ROW_HEIGHT - scroller.clientHeight;
    }
  }

  function select(index, open) {
    if (index < 0 || index >= rows.length || rows[index].group) return;
    selected = index;
    scrollIntoView(index);
    render();
    if (open) openEvent(rows[index].event);
  }

  function step(from, direction) {
    for (let i = from + direction; i >= 0 && i < rows.length; i += direction) {
      if (!rows[i].group) return i;
    }
    return from;
  }

  scroller.addEventListener("scroll", () => window.requestAnimationFrame(render), { passive: true });
  rowsBox.addEventListener("click", (click) => {
    const row = click.target.closest(".wf-row");
    if (row) select(Number(row.dataset.index), true);
    scroller.focus({ preventScroll: true });
  });
  scroller.addEventListener("keydown", (key) => {
    const pageRows = Math.max(1, Math.floor(scroller.clientHeight / ROW_HEIGHT) - 1);
    const moves = {
      ArrowDown: () => step(selected, 1),
      ArrowUp: () => step(selected < 0 ? rows.length : selected, -1),
      PageDown: () => step(Math.min(rows.length - 1, Math.max(selected, 0) + pageRows) - 1, 1),
      PageUp: () => step(Math.max(0, selected - pageRows) + 1, -1),
      Home: () => step(-1, 1),
      End: () => step(rows.length, -1),
    };
    if (moves[key.key]) {
      key.preventDefault();
      select(moves[key.key](), false);
    } else if (key.key === "Enter" || key.key === " ") {
      key.preventDefault();
      if (selected < 0) select(step(-1, 1), true);
      else select(selected, true);
    }
  });
  new ResizeObserver(() => {
    drawAxis();
    render();
  }).observe(scroller);

  // ---- Event panel ----

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function jsonTree(value, openDepth, depth) {
    depth = depth || 0;
    if (value === null || typeof value !== "object") {
      let type = "bool";
      if (value === null) type = "null";
      else if (typeof value === "string") type = "string";
      else if (typeof value === "number") type = "number";
      const text = type === "string" ? JSON.stringify(value) : String(value);
      return el("span", "json-leaf json-" + type, text);
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const details = el("details");
    if (depth < openDepth) details.open = true;
    const summary = el("summary", "", Array.isArray(value) ? "[" + entries.length + " items]" : "{" + entries.length + " fields}");
    details.appendChild(summary);
    for (const [key, child] of entries) {
      const line = el("div");
      line.appendChild(el("span", "json-key", (Array.isArray(value) ? key : JSON.stringify(key)) + ": "));
      line.appendChild(jsonTree(child, openDepth, depth + 1));
      details.appendChild(line);
    }
    return details;
  }

  function jsonBlock(title, value, openDepth) {
    const box = el("div", "json-tree");
    box.appendChild(el("h4", "", title));
    box.appendChild(jsonTree(value, openDepth === undefined ? 1 : openDepth));
    return box;
  }

  function safeLink(url, text) {
    if (typeof url === "string" && /^https?:\/\//i.test(url)) {
      const link = el("a", "", text);
      link.href = url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      return link;
    }
    const note = typeof url === "string" && url.startsWith("data:") ? text + " (inline data, " + url.length + " characters)" : text;
    return el("span", "muted", note);
  }

  function contentNodes(content) {
    if (content === null || content === undefined) return [];
    if (typeof content === "string") return [el("p", "message-text", content)];
    if (Array.isArray(content)) {
      return content.flatMap((part) => {
        if (typeof part === "string") return [el("p", "message-text", part)];
        if (isObject(part) && part.type === "text") return [el("p", "message-text", part.text)];
        if (isObject(part) && (part.type === "image_url" || part.image_url)) {
          const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
          return [el("p", "", "").appendChild(safeLink(url, "Image")).parentNode];
        }
        return [jsonTree(part, 1)];
      });
    }
    return [jsonTree(content, 1)];
  }

  function toolCallNodes(message) {
    const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    if (isObject(message.function_call)) calls.push({ function: message.function_call });
    return calls.map((call) => {
      const fn = isObject(call.function) ? call.function : call;
      const box = el("div", "tool-call");
      box.appendChild(el("strong", "", "Tool call: " + (fn.name || "unnamed")));
      let args = fn.arguments;
      if (typeof args === "string") {
        try {
          args = JSON.parse(args);
        } catch (_) {
          /* keep the text */
        }
      }
      const tree = el("div", "json-tree");
      tree.appendChild(jsonTree(args === undefined ? null : args, 2));
      box.appendChild(tree);
      return box;
    });
  }

  function messageNode(message) {
    if (!isObject(message)) message = { role: "", content: message };
    const role = typeof message.role === "string" ? message.role : "message";
    const box = el("div", "message message-" + role.replace(/[^a-z]/gi, ""));
    box.appendChild(el("div", "message-role", role + (message.name ? " · " + message.name : "")));
    for (const node of contentNodes(message.content)) box.appendChild(node);
    for (const node of toolCallNodes(message)) box.appendChild(node);
    if (message.refusal) box.appendChild(el("p", "message-text", "Refusal: " + message.refusal));
    return box;
  }

  // Prompts and completions come as a string, a list of chat messages,
  // one message, or an object holding `messages`.
  function messagesOf(value) {
    if (value === null || value === undefined || value === "") return [];
    if (Array.isArray(value)) return value;
    if (isObject(value) && Array.isArray(value.messages)) return value.messages;
    if (isObject(value) && Array.isArray(value.choices)) return value.choices.map((c) => c.message || c);
    return [value];
  }

  function messagesSection(title, value, defaultRole) {
    const messages = messagesOf(value);
    if (!messages.length) return null;
    const section = el("section", "messages");
    section.setAttribute("aria-label", title);
    section.appendChild(el("h4", "", title));
    for (const message of messages) {
      section.appendChild(messageNode(isObject(message) ? message : { role: defaultRole, content: message }));
    }
    return section;
  }

  function metaList(event) {
    const list = el("dl", "event-meta");
    const add = (term, value) => {
      if (value === null || value === undefined || value === "") return;
      list.append(el("dt", "", term), el("dd", "", value));
    };
    add("Type", event.type);
    add("Started", event.init_timestamp);
    add("Duration", event.duration_ms !== null && event.duration_ms !== undefined ? formatOffset(event.duration_ms * 1000) : "");
    add("Model", event.model);
    add("Prompt tokens", event.prompt_tokens);
    add("Completion tokens", event.completion_tokens);
    let cost = event.cost_source;
    if (event.cost !== null && event.cost !== undefined) {
      cost = "$" + event.cost;
      if (event.cost_source) cost += " (" + event.cost_source + ")";
    }
    add("Cost", cost);
    add("Agent", event.agent_id);
    add("Event id", event.id);
    add("Parent", event.parent_id);
    return list;
  }

  function errorSection(event) {
    const section = el("section");
    section.appendChild(el("h4", "", "Error"));
    const summary = [event.error_type, event.code].filter(Boolean).join(" · ");
    if (summary) section.appendChild(el("p", "", summary));
    if (event.details) section.appendChild(el("p", "message-text", typeof event.details === "string" ? event.details : JSON.stringify(event.details)));
    const trace = event.logs || event.traceback || event.stack_trace || event.exception;
    if (trace) section.appendChild(el("pre", "log", typeof trace === "string" ? trace : JSON.stringify(trace, null, 2)));
    return section;
  }

  function showEvent(event) {
    const nodes = [el("h3", "", (event.name || event.model || event.type) + " · " + event.type), metaList(event)];
    if (event.type === "llm") {
      const prompt = messagesSection("Prompt", event.prompt, "user");
      const completion = messagesSection("Completion", event.completion, "assistant");
      if (prompt) nodes.push(prompt);
      if (completion) nodes.push(completion);
      if (!prompt && !completion) nodes.push(el("p", "muted", "This LLM event has no prompt or completion."));
    }
    if (event.type === "error" || event.is_error) nodes.push(errorSection(event));
    if (event.type !== "llm") {
      if (event.params !== undefined) nodes.push(jsonBlock("Parameters", event.params, 2));
      if (event.returns !== undefined) nodes.push(jsonBlock("Returns", event.returns, 2));
    }
    nodes.push(jsonBlock("Raw event", event, 0));
    panel.replaceChildren(...nodes);
  }

  function openEvent(event) {
    const url = root.dataset.eventUrl + encodeURIComponent(event.id) + "?project=" + encodeURIComponent(root.dataset.project);
    panel.replaceChildren(el("p", "muted", "Loading " + label(event) + "…"));
    const request = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    pendingDetail = request;
    request
      .then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then((full) => {
        if (pendingDetail === request) showEvent(full);
      })
      .catch((error) => {
        if (pendingDetail === request) panel.replaceChildren(el("p", "alert alert-error", "The event could not be loaded (" + error.message + ")."));
      });
  }

  fetch(root.dataset.timelineUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then((timeline) => {
      span = Math.max(timeline.span, 1);
      rows = buildRows(timeline);
      rowsBox.style.height = rows.length * ROW_HEIGHT + "px";
      drawAxis();
      render();
      const count = timeline.events.length;
      status.textContent = count === 0 ? "This session has no events yet." : count + (count === 1 ? " event" : " events") + " · " + formatOffset(timeline.span) + " from the session start";
      root.dataset.loaded = "true";
    })
    .catch((error) => {
      status.textContent = "The events could not be loaded (" + error.message + "); reload the page.";
    });
})();
