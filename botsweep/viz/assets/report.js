/* botsweep report: draws the follow network with vis-network and fills the panels.
 *
 * Every string from the crawl reaches the page through textContent (or a canvas label),
 * never innerHTML; links are made only for http(s) urls.  The graph opens as an overview
 * (one dot per cluster) when it is large; clicking a cluster expands it in place, at the
 * positions computed in Python.  Physics is off throughout.
 */
(function () {
  'use strict';

  window.addEventListener('error', function (ev) {
    var box = document.getElementById('error');
    box.textContent = 'report error: ' + ev.message;
    box.hidden = false;
  });
  var DATA = JSON.parse(document.getElementById('botsweep-data').textContent);
  var M = DATA.meta, N = DATA.nodes, C = DATA.clusters, E = DATA.edges;
  var n = N.id.length, nc = C.length;
  var THRESHOLD = M.threshold;

  var members = [], k, i;
  for (k = 0; k < nc; k++) members.push([]);
  for (i = 0; i < n; i++) members[N.k[i]].push(i);
  var degree = new Int32Array(n);
  for (i = 0; i < E.length; i++) degree[E[i]]++;
  // The highest score in each cluster (a seed counts as 1: the filter never hides seeds).
  var clusterMax = C.map(function () { return -1; });
  for (i = 0; i < n; i++) {
    var top = (N.f[i] & 1) ? 1 : N.s[i] == null ? -1 : N.s[i];
    if (top > clusterMax[N.k[i]]) clusterMax[N.k[i]] = top;
  }
  var expanded = new Uint8Array(nc);
  var minScore = 0;

  // ---- small helpers -------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fmt(x) { return x == null ? '–' : Number(x).toLocaleString('en-US'); }
  function plural(count, word) { return fmt(count) + ' ' + word + (count === 1 ? '' : 's'); }
  function pct(x) {
    if (x == null) return '–';
    return (100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0) + '%';
  }
  function mix(a, b, t) { return Math.round(a + (b - a) * t); }
  function hex(r, g, b) { return '#' + ((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1); }
  var GREEN = [46, 157, 74], AMBER = [224, 165, 38], RED = [209, 47, 47];
  function rgb(s) {
    var a = s < 0.5 ? GREEN : AMBER, b = s < 0.5 ? AMBER : RED, t = s < 0.5 ? s * 2 : (s - 0.5) * 2;
    return [mix(a[0], b[0], t), mix(a[1], b[1], t), mix(a[2], b[2], t)];
  }
  function scoreColor(s) {
    if (s == null) return '#a0a4a8';
    var c = rgb(Math.max(0, Math.min(1, s)));
    return hex(c[0], c[1], c[2]);
  }
  function httpUrl(text) {
    if (typeof text !== 'string' || !/^https?:\/\//i.test(text)) return null;
    try {
      var u = new URL(text);
      return (u.protocol === 'http:' || u.protocol === 'https:') ? u.href : null;
    } catch (e) { return null; }
  }
  function link(text, href) {
    var a = el('a', text);
    a.href = href; a.target = '_blank'; a.rel = 'noopener noreferrer nofollow';
    return a;
  }
  function shareOf(c) { return c.scored ? c.bots / c.scored : null; }
  function ageYears(created) {
    var t = Date.parse(created), now = Date.parse(M.now);
    return isNaN(t) || isNaN(now) ? null : (now - t) / (365.25 * 864e5);
  }
  function accountName(j) { return N.u[j] ? '@' + N.u[j] : 'id ' + N.id[j]; }
  function passes(j) {
    return minScore <= 0 || (N.s[j] != null && N.s[j] >= minScore) || (N.f[j] & 1) === 1;
  }

  // ---- vis data ------------------------------------------------------------------
  function accountNode(j) {
    var s = N.s[j], st = N.st[j], seed = (N.f[j] & 1) === 1, col = scoreColor(s);
    var shape = seed ? 'star' : (st === 'suspended' || st === 'deleted' || st === 'not_found')
      ? 'square' : st === 'protected' ? 'diamond' : 'dot';
    var node = {
      id: 'n' + j, x: N.x[j], y: N.y[j], shape: shape,
      size: (seed ? 9 : 4) + Math.min(14, 1.6 * Math.sqrt(degree[j])),
      color: { background: col, border: seed ? '#1d2329' : col,
               highlight: { background: col, border: '#000' }, hover: { background: col, border: '#000' } },
      borderWidth: seed ? 2 : 1, hidden: !passes(j)
    };
    if (degree[j] >= 3 || seed) node.label = N.u[j] || N.id[j];
    return node;
  }
  function clusterNode(k) {
    var c = C[k], share = shareOf(c), col = rgb(share == null ? 0 : share);
    var fill = share == null ? 'rgba(160,164,168,0.45)' : 'rgba(' + col.join(',') + ',0.45)';
    var line = share == null ? '#80868b' : hex(col[0], col[1], col[2]);
    return {
      id: 'c' + k, x: c.x, y: c.y, shape: 'dot', size: Math.max(7, c.r * 0.85),
      label: c.name + ' · ' + fmt(c.size), borderWidth: 2,
      font: { size: Math.max(12, Math.min(90, c.r / 3)), color: '#1d2329', strokeWidth: 3, strokeColor: '#fff' },
      color: { background: fill, border: line, highlight: { background: fill, border: '#000' },
               hover: { background: fill, border: '#000' } },
      hidden: clusterMax[k] < minScore && minScore > 0
    };
  }
  var nodes = new vis.DataSet([]), edges = new vis.DataSet([]);
  var edgeCount = new Map();

  function endpoint(j) { return expanded[N.k[j]] ? 'n' + j : 'c' + N.k[j]; }
  function syncEdges() {
    var want = new Map(), j, a, b, key;
    for (j = 0; j < E.length; j += 2) {
      a = endpoint(E[j]); b = endpoint(E[j + 1]);
      if (a === b) continue;
      key = a + '>' + b;
      want.set(key, (want.get(key) || 0) + 1);
    }
    var drop = [], add = [], change = [];
    edgeCount.forEach(function (count, key) { if (!want.has(key)) drop.push(key); });
    want.forEach(function (count, key) {
      var old = edgeCount.get(key);
      if (old === count) return;
      var parts = key.split('>'), e = { id: key, from: parts[0], to: parts[1] };
      e.width = count > 1 ? Math.min(8, 1 + Math.log2(count)) : 0.6;
      if (old === undefined) add.push(e); else change.push(e);
    });
    drop.forEach(function (key) { edgeCount.delete(key); });
    want.forEach(function (count, key) { edgeCount.set(key, count); });
    if (drop.length) edges.remove(drop);
    if (change.length) edges.update(change);
    return add;
  }
  function setExpanded(list, value) {
    var changed = list.filter(function (k) { return expanded[k] !== value; });
    if (!changed.length) return;
    changed.forEach(function (k) { expanded[k] = value; });
    var newEdges = syncEdges(), add = [], remove = [];
    changed.forEach(function (k) {
      if (value) {
        remove.push('c' + k);
        members[k].forEach(function (j) { add.push(accountNode(j)); });
      } else {
        members[k].forEach(function (j) { remove.push('n' + j); });
        add.push(clusterNode(k));
      }
    });
    nodes.remove(remove);
    nodes.add(add);
    edges.add(newEdges);
    updateStatus();
  }
  function allClusters() { var out = []; for (var k = 0; k < nc; k++) out.push(k); return out; }

  // ---- network -------------------------------------------------------------------
  var container = $('network');
  var network = new vis.Network(container, {}, {
    physics: false,
    layout: { improvedLayout: false, randomSeed: 1 },
    interaction: { hover: true, hideEdgesOnDrag: true, tooltipDelay: 3600000, multiselect: false },
    nodes: { shape: 'dot', font: { size: 10, color: '#1d2329', strokeWidth: 2, strokeColor: '#ffffff' } },
    edges: { smooth: false, width: 0.6, selectionWidth: 1.5, color: { color: '#8a96a3', opacity: 0.55 },
             arrows: { to: { enabled: true, scaleFactor: 0.35 } } }
  });
  // With physics off vis-network draws synchronously on every data change, so the view is
  // set first and all the data goes in with one setData: the first frame shows every cluster.
  network.once('afterDrawing', function () {
    window.botsweepFirstFrame = performance.now();
    document.documentElement.setAttribute('data-drawn', '1');
    setTimeout(buildPanels, 0);
  });
  var initial = [], box = [Infinity, Infinity, -Infinity, -Infinity];
  function grow(x, y, r) {
    box[0] = Math.min(box[0], x - r); box[1] = Math.min(box[1], y - r);
    box[2] = Math.max(box[2], x + r); box[3] = Math.max(box[3], y + r);
  }
  if (M.expand === 'all') {
    for (k = 0; k < nc; k++) expanded[k] = 1;
    for (i = 0; i < n; i++) { initial.push(accountNode(i)); grow(N.x[i], N.y[i], 20); }
  } else {
    for (k = 0; k < nc; k++) { initial.push(clusterNode(k)); grow(C[k].x, C[k].y, C[k].r); }
  }
  if (n) {
    // Room below for the lowest cluster's label and for the legend over the graph's foot.
    var below = Math.min(60, 0.2 * container.clientHeight);
    var scale = 0.95 * Math.min(container.clientWidth / (box[2] - box[0]),
                                (container.clientHeight - below) / (box[3] - box[1]));
    scale = isFinite(scale) && scale > 0 ? Math.min(scale, 2) : 1;
    network.moveTo({ position: { x: (box[0] + box[2]) / 2, y: (box[1] + box[3]) / 2 + below / 2 / scale },
                     scale: scale, animation: false });
  } else {
    $('empty').hidden = false;
  }
  nodes.add(initial);
  edges.add(syncEdges());
  network.setData({ nodes: nodes, edges: edges });

  // ---- cards ---------------------------------------------------------------------
  function facts(rows) {
    var dl = el('dl', null, 'facts');
    rows.forEach(function (row) {
      if (row[1] == null || row[1] === '') return;
      dl.appendChild(el('dt', row[0]));
      var dd = el('dd');
      if (row[1] instanceof Node) dd.appendChild(row[1]); else dd.textContent = String(row[1]);
      dl.appendChild(dd);
    });
    return dl;
  }
  function scoreChip(s) {
    var chip = el('span', s == null ? 'not scored' : s.toFixed(2) + ' (' + (5 * s).toFixed(1) + '/5)', 'chip');
    chip.style.background = scoreColor(s);
    return chip;
  }
  function campaignScore(p) {  // flagged by the same cut as the panel's count and `status`
    var cut = M.campaign && typeof M.campaign.threshold === 'number' ? M.campaign.threshold : null;
    if (p == null) return null;
    return p.toFixed(2) + (cut == null ? '' : p >= cut ? ' (flagged)' : ' (not flagged)');
  }
  function accountCard(j, pinned) {
    var box = el('div', null, 'account-card');
    box.appendChild(el('h3', accountName(j)));
    if (N.n[j]) box.appendChild(el('div', N.n[j], 'name'));
    var line = el('div'); line.appendChild(el('span', 'bot score ')); line.appendChild(scoreChip(N.s[j]));
    if (N.s[j] != null) line.appendChild(el('span', N.s[j] >= THRESHOLD ? ' likely bot' : ' likely human'));
    box.appendChild(line);
    var m = N.m[j] || [], age = ageYears(N.c[j]);
    var url = N.w[j], href = httpUrl(url), urlNode = href && pinned ? link(url, href) : url;
    var profile = N.u[j] && /^[A-Za-z0-9_]{1,50}$/.test(N.u[j]) && pinned
      ? link('x.com/' + N.u[j], 'https://x.com/' + N.u[j]) : null;
    box.appendChild(facts([
      ['created', N.c[j] ? N.c[j].slice(0, 10) + (age == null ? '' : ' (' + age.toFixed(1) + ' years old)') : null],
      ['followers', fmt(m[0])], ['following', fmt(m[1])], ['tweets', fmt(m[2])],
      ['listed', fmt(m[3])], ['likes', fmt(m[4])],
      ['state', N.st[j] || 'not profiled yet'],
      ['seed', (N.f[j] & 1) ? 'yes' + (N.lb[j] ? ' (labelled ' + N.lb[j] + ')' : '') : null],
      ['label', !(N.f[j] & 1) && N.lb[j] ? N.lb[j] : null],
      ['campaign', N.cg[j]], ['campaign score', campaignScore(N.cp[j])],
      ['location', N.l[j]], ['description', N.d[j]], ['url', urlNode],
      ['domains', N.dm[j] ? N.dm[j].join(', ') : null],
      ['in this crawl', plural(N.fi[j], 'follower') + ', ' + N.fo[j] + ' following seen'],
      ['cluster', C[N.k[j]].name], ['id', N.id[j]], ['profile', profile]
    ]));
    return box;
  }
  function yearBars(pairs, spark, span) {
    var box = el('div', null, spark ? 'bars spark' : 'bars');
    if (!pairs.length) return box;
    var lo = pairs[0][0], hi = pairs[pairs.length - 1][0], byYear = new Map(pairs), top = 1;
    if (span && span.length) { lo = Math.min(lo, span[0][0]); hi = Math.max(hi, span[span.length - 1][0]); }
    pairs.forEach(function (p) { top = Math.max(top, p[1]); });
    var nowYear = new Date(M.now).getUTCFullYear();
    for (var y = lo; y <= hi; y++) {
      var bar = el('span'), v = byYear.get(y) || 0;
      bar.style.height = (100 * v / top) + '%';
      bar.title = y + ': ' + v;
      var age = nowYear - y;
      if (age >= 3 && age <= 8) bar.className = 'aged';
      box.appendChild(bar);
    }
    return box;
  }
  function yearAxis(pairs) {
    var axis = el('div', null, 'axis');
    if (pairs.length) { axis.appendChild(el('span', pairs[0][0])); axis.appendChild(el('span', pairs[pairs.length - 1][0])); }
    return axis;
  }
  function clusterCard(k, pinned) {
    var c = C[k], box = el('div', null, 'cluster-card');
    box.appendChild(el('h3', c.name + (c.kind === 'unconnected' ? ' (accounts with no follow in view)' : '')));
    box.appendChild(facts([
      ['accounts', fmt(c.size)],
      ['bots', fmt(c.bots) + ' of ' + fmt(c.scored) + ' scored (' + pct(shareOf(c)) + ')'],
      ['mean score', c.mean == null ? null : c.mean.toFixed(2)],
      ['median age', c.age == null ? null : c.age + ' years'],
      ['seeds', c.seeds || null],
      ['top domains', c.domains.map(function (d) { return d[0] + ' (' + d[1] + ')'; }).join(', ') || null],
      ['examples', c.examples.map(function (u) { return '@' + u; }).join(', ') || null]
    ]));
    if (c.years.length) {
      box.appendChild(el('div', 'created per year (purple: 3–8 years old, the age of most bots in Patel\'s 2018 flower clusters)', 'muted'));
      box.appendChild(yearBars(c.years, false));
      box.appendChild(yearAxis(c.years));
    }
    if (pinned) {
      var buttons = el('div', null, 'buttons');
      buttons.appendChild(button(expanded[k] ? 'Collapse' : 'Expand', function () {
        setExpanded([k], expanded[k] ? 0 : 1); showDetails('c', k);
      }));
      buttons.appendChild(button('Zoom to', function () { zoomToCluster(k); }));
      box.appendChild(buttons);
    }
    return box;
  }
  function button(text, onClick, cls) {
    var b = el('button', text, cls); b.type = 'button'; b.addEventListener('click', onClick);
    return b;
  }
  function parseId(id) { return { kind: id.charAt(0), index: parseInt(id.slice(1), 10) }; }
  function cardFor(kind, index, pinned) { return kind === 'c' ? clusterCard(index, pinned) : accountCard(index, pinned); }

  var card = $('card');
  network.on('hoverNode', function (p) {
    var id = parseId(String(p.node)), rect = container.getBoundingClientRect();
    card.replaceChildren(cardFor(id.kind, id.index, false));
    card.hidden = false;
    var x = rect.left + p.pointer.DOM.x + 14, y = rect.top + p.pointer.DOM.y + 14;
    card.style.left = Math.max(0, Math.min(x, window.innerWidth - card.offsetWidth - 4)) + 'px';
    card.style.top = Math.max(0, Math.min(y, window.innerHeight - card.offsetHeight - 4)) + 'px';
  });
  function hideCard() { card.hidden = true; }
  network.on('blurNode', hideCard);
  network.on('dragStart', hideCard);
  network.on('zoom', hideCard);

  function showDetails(kind, index) {
    var box = $('details');
    box.replaceChildren(el('h2', 'Details'), cardFor(kind, index, true));
    if (kind === 'n') {
      var k = N.k[index], buttons = el('div', null, 'buttons');
      buttons.appendChild(button('Collapse ' + C[k].name, function () { setExpanded([k], 0); showDetails('c', k); }));
      box.appendChild(buttons);
    }
  }
  network.on('click', function (p) {
    if (!p.nodes.length) return;
    var id = parseId(String(p.nodes[0]));
    hideCard();
    if (id.kind === 'c') { setExpanded([id.index], 1); }
    showDetails(id.kind, id.index);
  });
  network.on('doubleClick', function (p) {
    if (!p.nodes.length) return;
    var id = parseId(String(p.nodes[0]));
    if (id.kind === 'n') { setExpanded([N.k[id.index]], 0); showDetails('c', N.k[id.index]); }
  });

  // ---- controls ------------------------------------------------------------------
  function zoomToCluster(k) {
    setExpanded([k], 1);
    var ids = members[k].filter(passes).map(function (j) { return 'n' + j; });
    if (ids.length) network.fit({ nodes: ids, animation: false });
    showDetails('c', k);
  }
  function focusAccount(j) {
    setExpanded([N.k[j]], 1);
    if (!passes(j)) setStatus(accountName(j) + ' is hidden by the score filter; lower it to see it');
    network.selectNodes(['n' + j]);
    network.focus('n' + j, { scale: 1.4, animation: false });
    showDetails('n', j);
  }
  function visibleCount() {
    var shown = 0;
    for (var j = 0; j < n; j++) if (passes(j)) shown++;
    return shown;
  }
  var statusNote = '';
  function setStatus(text) { statusNote = text; updateStatus(); }
  function updateStatus() {
    var open = 0;
    for (var k = 0; k < nc; k++) open += expanded[k];
    var text = open + ' of ' + nc + ' clusters expanded';
    if (minScore > 0) text += ' · ' + fmt(visibleCount()) + ' of ' + fmt(n) + ' accounts at score ≥ ' + minScore.toFixed(2);
    $('status').textContent = text + (statusNote ? ' · ' + statusNote : '');
  }
  function applyFilter() {
    var update = [];
    for (var k = 0; k < nc; k++) {
      if (expanded[k]) {
        members[k].forEach(function (j) { update.push({ id: 'n' + j, hidden: !passes(j) }); });
      } else {
        update.push({ id: 'c' + k, hidden: minScore > 0 && clusterMax[k] < minScore });
      }
    }
    nodes.update(update);
    statusNote = '';
    updateStatus();
  }
  var filterTimer = 0;
  $('threshold').addEventListener('input', function (ev) {
    minScore = parseFloat(ev.target.value) || 0;
    $('threshold-value').textContent = minScore.toFixed(2);
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 120);
  });
  $('picker').addEventListener('change', function (ev) {
    if (ev.target.value === '') { setExpanded(allClusters(), 0); network.fit({ animation: false }); return; }
    zoomToCluster(parseInt(ev.target.value, 10));
  });
  $('expand-all').addEventListener('click', function () {
    setStatus('expanding ' + fmt(n) + ' accounts…');
    setTimeout(function () { setExpanded(allClusters(), 1); setStatus(''); }, 20);
  });
  $('collapse-all').addEventListener('click', function () { setExpanded(allClusters(), 0); });
  $('fit').addEventListener('click', function () { network.fit({ animation: false }); });

  var lowered = null;
  function search(query) {
    var q = query.trim().toLowerCase().replace(/^@/, ''), out = [], j;
    if (!q) return out;
    if (!lowered) lowered = N.u.map(function (u) { return u ? u.toLowerCase() : ''; });
    for (j = 0; j < n && out.length < 12; j++) if (lowered[j] === q || N.id[j] === q) out.push(j);
    for (j = 0; j < n && out.length < 12; j++) if (lowered[j] !== q && lowered[j].indexOf(q) === 0) out.push(j);
    for (j = 0; j < n && out.length < 12; j++) if (lowered[j].indexOf(q) > 0) out.push(j);
    return out;
  }
  var results = $('search-results');
  function showResults(list) {
    results.replaceChildren();
    list.forEach(function (j) {
      results.appendChild(button(accountName(j) + (N.n[j] ? ' — ' + N.n[j] : ''), function () {
        results.classList.remove('open'); focusAccount(j);
      }));
    });
    if (!list.length && $('search').value.trim()) results.appendChild(el('div', 'no account matches', 'muted'));
    results.classList.toggle('open', results.childNodes.length > 0);
  }
  $('search').addEventListener('input', function (ev) { showResults(search(ev.target.value)); });
  $('search').addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') {
      var found = search(ev.target.value);
      results.classList.remove('open');
      if (found.length) focusAccount(found[0]); else setStatus('no account matches ' + ev.target.value.trim());
    } else if (ev.key === 'Escape') { results.classList.remove('open'); }
  });

  // ---- summary panel (built after the first frame) ------------------------------------
  function table(headers, rows) {
    var t = el('table'), head = el('tr');
    headers.forEach(function (h) { head.appendChild(el('th', h[0], h[1])); });
    t.appendChild(el('thead')).appendChild(head);
    var body = t.appendChild(el('tbody'));
    rows.forEach(function (cells) {
      var tr = body.appendChild(el('tr'));
      cells.forEach(function (cell, idx) {
        var td = el('td', null, headers[idx][1]);
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell == null ? '–' : String(cell);
        tr.appendChild(td);
      });
    });
    return t;
  }
  function section(title) { var s = el('div'); s.appendChild(el('h2', title)); return s; }
  function buildPanels() {
    var T = M.totals, S = $('summary');
    var bots = T.scored ? T.bots / T.scored : null;
    $('headline').textContent = fmt(T.accounts) + ' accounts · ' + fmt(T.follows) + ' follows · ' +
      fmt(T.clusters) + ' clusters · ' + fmt(T.bots) + ' likely bots (' + pct(bots) + ' of scored)';
    var totals = section('Totals');
    var states = Object.keys(T.states).sort().map(function (s) { return s + ' ' + fmt(T.states[s]); }).join(', ');
    totals.appendChild(facts([
      ['accounts', fmt(T.accounts)], ['follows', fmt(T.follows)], ['clusters', fmt(T.clusters)],
      ['scored', fmt(T.scored)], ['likely bots', fmt(T.bots) + ' (score ≥ ' + THRESHOLD.toFixed(2) + ')'],
      ['seeds', fmt(T.seeds)], ['states', states], ['model', M.model_version || 'unknown'],
      ['crawl clock', M.now], ['generated', M.generated],
      ['left out', (M.left_out.below_min_score || M.left_out.over_max_nodes)
        ? fmt(M.left_out.below_min_score) + ' below --min-score ' + M.min_score + ', ' +
          fmt(M.left_out.over_max_nodes) + ' over --max-nodes ' + fmt(M.max_nodes) + ' (lowest score, fewest follows)'
        : 'none']
    ]));
    S.appendChild(totals);
    if (M.coverage) {
      var cov = section('Crawl coverage'), V = M.coverage, meter = el('div', null, 'meter'), fill = el('span');
      fill.style.width = Math.round(100 * Math.max(0, Math.min(1, V.ratio || 0))) + '%';
      meter.appendChild(fill);
      cov.appendChild(facts([['discovered', fmt(V.discovered)], ['profiled', fmt(V.profiled)],
        ['expanded', fmt(V.expanded)], ['frontier pending', fmt(V.frontier_pending)], ['coverage', pct(V.ratio)]]));
      cov.appendChild(meter);
      S.appendChild(cov);
    }
    var dist = section('Score distribution'), bars = el('div', null, 'bars'), top = 1;
    M.score_bins.forEach(function (v) { top = Math.max(top, v); });
    M.score_bins.forEach(function (v, b) {
      var bar = el('span'), lo = b / M.score_bins.length;
      bar.style.height = (100 * v / top) + '%';
      bar.title = lo.toFixed(2) + '–' + (lo + 1 / M.score_bins.length).toFixed(2) + ': ' + v;
      if (lo >= THRESHOLD) bar.className = 'hot';
      bars.appendChild(bar);
    });
    dist.appendChild(bars);
    var axis = el('div', null, 'axis'); axis.appendChild(el('span', '0')); axis.appendChild(el('span', '0.5')); axis.appendChild(el('span', '1'));
    dist.appendChild(axis);
    dist.appendChild(el('div', plural(M.unscored, 'account') + ' not scored yet', 'muted'));
    S.appendChild(dist);
    var years = section('Accounts created per year');
    years.appendChild(el('div', 'purple: 3–8 years old at crawl time, the age of most bots in Patel\'s 2018 flower clusters; a hint to look closer, not a verdict', 'muted'));
    years.appendChild(yearBars(M.years, false));
    years.appendChild(yearAxis(M.years));
    S.appendChild(years);
    S.appendChild(clusterTable());
    if (M.review && M.review.length) S.appendChild(reviewTable());
    if (M.campaign) S.appendChild(campaignPanel());
    var picker = $('picker');
    C.forEach(function (c, k) {
      var opt = el('option', c.name + ' · ' + fmt(c.size) + ' accounts · ' + pct(shareOf(c)) + ' bots');
      opt.value = String(k);
      picker.appendChild(opt);
    });
    updateStatus();
  }
  function clusterTable() {
    var box = section('Top clusters'), sortBy = el('select');
    box.appendChild(el('div', 'bots: share of scored accounts at score ≥ ' + THRESHOLD.toFixed(2) +
      '; age: median account age in years at crawl time; created: accounts per year' +
      (M.years.length ? ', ' + M.years[0][0] + '–' + M.years[M.years.length - 1][0] : ''), 'muted'));
    [['size', 'by size'], ['bots', 'by number of bots'], ['share', 'by share of bots']].forEach(function (o) {
      var opt = el('option', o[1]); opt.value = o[0]; sortBy.appendChild(opt);
    });
    box.appendChild(sortBy);
    var holder = el('div');
    box.appendChild(holder);
    function render() {
      var key = sortBy.value, order = allClusters();
      order.sort(function (a, b) {
        if (key === 'bots') return C[b].bots - C[a].bots || a - b;
        if (key === 'share') return ((shareOf(C[b]) || 0) - (shareOf(C[a]) || 0)) || (C[b].size - C[a].size);
        return a - b;
      });
      holder.replaceChildren(table(
        [['cluster'], ['size', 'num'], ['bots', 'num'], ['age', 'num'], ['top domains', 'lines'],
         ['examples'], ['created']],
        order.slice(0, 25).map(function (k) {
          var c = C[k];
          var examples = el('span');
          c.examples.forEach(function (u) {
            examples.appendChild(button('@' + u, function () {
              var j = members[k].find(function (m) { return N.u[m] === u; });
              if (j !== undefined) focusAccount(j);
            }, 'link block'));
          });
          return [button(c.name, function () { zoomToCluster(k); }, 'link'), fmt(c.size),
            pct(shareOf(c)), c.age == null ? '–' : c.age + ' y',
            c.domains.map(function (d) { return d[0]; }).join('\n') || '–', examples, yearBars(c.years, true, M.years)];
        })));
    }
    sortBy.addEventListener('change', render);
    render();
    return box;
  }
  function copyable(text) {
    var line = el('div'), code = el('code', text);
    line.appendChild(code);
    line.appendChild(document.createTextNode(' '));
    line.appendChild(button('copy', function () {
      var done = function () { setStatus('copied'); };
      var select = function () { var range = document.createRange(); range.selectNodeContents(code);
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); setStatus('selected: press Ctrl+C'); };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(String(text)).then(done, select);
      else select();
    }, 'link'));
    return line;
  }
  function reviewTable() {
    var box = section('Review these');
    box.appendChild(el('div', 'label the accounts whose label would teach the campaign model most, ' +
      'then run botsweep campaign fit again', 'muted'));
    box.appendChild(table([['account'], ['reason'], ['command']], M.review.map(function (r) {
      var cmd = el('div');
      cmd.appendChild(copyable(r.command));
      if (r.human_command) cmd.appendChild(copyable(r.human_command));
      var who = r.username ? '@' + r.username : 'id ' + r.id;
      var j = N.id.indexOf(String(r.id));
      return [j >= 0 ? button(who, function () { focusAccount(j); }, 'link') : who, r.reason, cmd];
    })));
    return box;
  }
  function campaignPanel() {
    // Every string here came from the crawl: it only ever goes through textContent.
    var P = M.campaign, box = section('Campaign' + (P.name ? ': ' + P.name : ''));
    var triple = function (row) { return Array.isArray(row) ? row : [row, null, null]; };
    var precision = P.precision == null ? (P.precision_source || null)
      : pct(P.precision) + (P.precision_source ? ' (' + P.precision_source + ')' : '');
    var cut = typeof P.threshold === 'number' ? ' (campaign score ≥ ' + P.threshold.toFixed(2) + ')' : '';
    box.appendChild(facts([['flagged', fmt(P.flagged) + cut], ['estimated precision', precision],
      ['model', P.version || null]]));
    var lists = [['link domain', P.top_domains], ['phrase in bio', P.top_phrases]];
    lists.forEach(function (pair) {
      if (!pair[1] || !pair[1].length) return;
      box.appendChild(table([[pair[0]], ['flagged', 'num'], ['background', 'num']],
        pair[1].map(function (row) { var r = triple(row); return [r[0], pct(r[1]), pct(r[2])]; })));
    });
    if (P.years && Object.keys(P.years).length) {
      var rows = Object.keys(P.years).map(function (y) { return [parseInt(y, 10), P.years[y]]; })
        .filter(function (p) { return !isNaN(p[0]); }).sort(function (a, b) { return a[0] - b[0]; });
      var flagged = rows.map(function (p) { return [p[0], Array.isArray(p[1]) ? p[1][0] : p[1]]; });
      box.appendChild(el('div', 'flagged accounts by year created', 'muted'));
      box.appendChild(yearBars(flagged, false));
      box.appendChild(yearAxis(flagged));
      if (rows.some(function (p) { return Array.isArray(p[1]); })) {
        var back = rows.map(function (p) { return [p[0], Array.isArray(p[1]) ? p[1][1] : 0]; });
        box.appendChild(el('div', 'background (accounts the bot model scores as human)', 'muted'));
        box.appendChild(yearBars(back, false));
        box.appendChild(yearAxis(back));
      }
    }
    return box;
  }

  window.botsweepReport = {
    expandAll: function () { setExpanded(allClusters(), 1); },
    collapseAll: function () { setExpanded(allClusters(), 0); },
    focusAccount: focusAccount,
    counts: function () { return { nodes: nodes.length, edges: edges.length }; },
    domPosition: function (id) {  // where a drawn node is, in page pixels (for tests)
      var p = network.canvasToDOM(network.getPosition(id)), rect = container.getBoundingClientRect();
      return { x: rect.left + p.x, y: rect.top + p.y };
    }
  };
})();
