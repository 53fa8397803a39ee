/* OneGrid inspector tablet (/tablet): the outbox that never loses an action.
 *
 * Every action (verify pass / fail, a new report, the photos they carry) is written to an
 * outbox in the browser (IndexedDB; localStorage with photos as data: URLs where IndexedDB is
 * missing) BEFORE it is sent. It is sent with its request_id (so a retry is applied once), and
 * removed only when the server answers 2xx — or refuses it for good (4xx), which is shown and
 * kept until dismissed. Sending is retried on the `online` event and on a timer with backoff.
 * Plain JS, no libraries; it does nothing on pages without #tablet-root (Dash loads every
 * asset on every page).
 */
(function () {
  'use strict';

  var DB_NAME = 'onegrid-tablet';
  var STORE = 'outbox';
  var LS_KEY = 'onegrid-tablet-outbox';
  var TICK_MS = 2000;
  var BACKOFF_BASE_MS = 2000;
  var BACKOFF_MAX_MS = 60000;

  var state = {
    root: null, user: null, lang: 'zh-CN', texts: {}, flushing: false, signedOut: false,
    drafts: {}, point: null, records: [], showList: false, observer: null,
  };

  function tx(key) { return state.texts[key] || key; }

  function newId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return 'tab-' + Array.prototype.map.call(bytes, function (b) {
      return ('0' + b.toString(16)).slice(-2);
    }).join('');
  }

  // ---- storage: IndexedDB, else localStorage -------------------------------------------------
  var dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!window.indexedDB) { reject(new Error('no IndexedDB')); return; }
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: 'id' });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function idb(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var request = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(request ? request.result : undefined); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }

  function blobToDataUrl(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(blob);
    });
  }

  function dataUrlToBlob(url) {
    var parts = url.split(',');
    var mime = (parts[0].match(/data:([^;]+)/) || [])[1] || 'application/octet-stream';
    var bin = atob(parts[1] || '');
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i += 1) { bytes[i] = bin.charCodeAt(i); }
    return new Blob([bytes], { type: mime });
  }

  var local = {
    read: function () {
      try { return JSON.parse(localStorage.getItem(LS_KEY) || '[]'); } catch (e) { return []; }
    },
    all: function () {
      return Promise.resolve(local.read().map(function (rec) {
        (rec.photos || []).forEach(function (p) {
          if (p.dataUrl) { p.blob = dataUrlToBlob(p.dataUrl); delete p.dataUrl; }
        });
        return rec;
      }));
    },
    put: function (rec) {
      return Promise.all((rec.photos || []).map(function (p) {
        var copy = { name: p.name, type: p.type, sha256: p.sha256, mime: p.mime };
        return p.blob ? blobToDataUrl(p.blob).then(function (u) { copy.dataUrl = u; return copy; })
          : Promise.resolve(copy);
      })).then(function (photos) {
        var saved = Object.assign({}, rec, { photos: photos });
        var rest = local.read().filter(function (r) { return r.id !== rec.id; });
        rest.push(saved);
        localStorage.setItem(LS_KEY, JSON.stringify(rest));
      });
    },
    del: function (id) {
      localStorage.setItem(LS_KEY, JSON.stringify(local.read().filter(function (r) {
        return r.id !== id;
      })));
      return Promise.resolve();
    },
  };

  var indexed = {
    all: function () { return idb('readonly', function (s) { return s.getAll(); }); },
    put: function (rec) { return idb('readwrite', function (s) { return s.put(rec); }); },
    del: function (id) { return idb('readwrite', function (s) { return s.delete(id); }); },
  };

  var store = {
    backend: null,
    pick: function () {
      if (store.backend) { return Promise.resolve(store.backend); }
      return openDb().then(function () { store.backend = indexed; return indexed; },
        function () { store.backend = local; return local; });
    },
    all: function () { return store.pick().then(function (b) { return b.all(); }); },
    put: function (rec) { return store.pick().then(function (b) { return b.put(rec); }); },
    del: function (id) { return store.pick().then(function (b) { return b.del(id); }); },
  };

  // ---- talking to the server ----------------------------------------------------------------
  function serverMessage(json, fallback) {
    var error = json && json.error;
    if (!error) { return fallback; }
    return (state.lang === 'en' ? error.message : error.message_zh) || error.message || fallback;
  }

  /* → {kind: 'ok', json} | {kind: 'refused', message} | {kind: 'retry', message}
   *   | {kind: 'signedout'} */
  function classify(response) {
    var type = response.headers.get('Content-Type') || '';
    var body = type.indexOf('json') >= 0 ? response.json().catch(function () { return null; })
      : Promise.resolve(null);
    return body.then(function (json) {
      var status = response.status;
      if (status >= 200 && status < 300 && json) { return { kind: 'ok', json: json }; }
      if (status === 401) { return { kind: 'signedout' }; }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        return { kind: 'refused', message: serverMessage(json, 'HTTP ' + status) };
      }
      return { kind: 'retry', message: serverMessage(json, 'HTTP ' + status) };
    });
  }

  function network(promise) {
    return promise.then(classify, function (error) {
      return { kind: 'retry', message: String(error && error.message || error) };
    });
  }

  function uploadBlob(blob, name) {
    var form = new FormData();
    form.append('file', blob, name || 'photo.jpg');
    return network(fetch('/api/v1/uploads', {
      method: 'POST', body: form, credentials: 'same-origin',
    }));
  }

  function postJson(path, body) {
    return network(fetch(path, {
      method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    }));
  }

  // ---- the outbox ---------------------------------------------------------------------------
  function enqueue(rec) {
    rec.id = newId();
    rec.user = state.user;
    rec.created = Date.now();
    rec.attempts = 0;
    rec.nextAt = 0;
    rec.status = 'pending';
    rec.body.request_id = rec.id;
    return store.put(rec).then(function () {
      state.records.push(rec);
      render();
      flush(true);
    });
  }

  function backoff(attempts) {
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, Math.max(0, attempts - 1)));
    return delay * (0.8 + Math.random() * 0.4);
  }

  function uploadPhotos(rec) {
    var photos = (rec.photos || []).filter(function (p) { return !p.sha256; });
    var chain = Promise.resolve({ kind: 'ok' });
    photos.forEach(function (photo) {
      chain = chain.then(function (previous) {
        if (previous.kind !== 'ok') { return previous; }
        return uploadBlob(photo.blob, photo.name).then(function (result) {
          if (result.kind === 'ok') {
            photo.sha256 = result.json.sha256;
            photo.mime = result.json.mime;
            photo.blob = null;
            return store.put(rec).then(function () { return result; });
          }
          if (result.kind === 'refused') {
            result.message = tx('photo_bad') + ' (' + (photo.name || '') + '): ' + result.message;
          }
          return result;
        });
      });
    });
    return chain;
  }

  function sendOne(rec) {
    return uploadPhotos(rec).then(function (uploaded) {
      if (uploaded.kind !== 'ok') { return uploaded; }
      var files = (rec.attachments || []).concat((rec.photos || []).map(function (p) {
        return { sha256: p.sha256, mime: p.mime };
      }));
      var body = Object.assign({}, rec.body);
      if (files.length) { body.attachments = files; }
      return postJson(rec.path, body);
    }).then(function (result) {
      if (result.kind === 'ok') {
        return store.del(rec.id).then(function () { return result; });
      }
      if (result.kind === 'refused') {
        rec.status = 'refused';
        rec.error = result.message;
        return store.put(rec).then(function () { return result; });
      }
      if (result.kind === 'retry') {
        rec.attempts += 1;
        rec.nextAt = Date.now() + backoff(rec.attempts);
        rec.lastError = result.message;
        return store.put(rec).then(function () { return result; });
      }
      return result;  // signed out: kept as it is
    });
  }

  function flush(force) {
    if (state.flushing || !state.root || state.signedOut) { return Promise.resolve(); }
    state.flushing = true;
    var sent = 0;
    return store.all().then(function (records) {
      state.records = records;
      var due = records.filter(function (r) {
        return r.user === state.user && r.status === 'pending' && (force || r.nextAt <= Date.now());
      }).sort(function (a, b) { return a.created - b.created; });
      var chain = Promise.resolve(true);
      due.forEach(function (rec) {
        chain = chain.then(function (goOn) {
          if (!goOn) { return false; }
          return sendOne(rec).then(function (result) {
            if (result.kind === 'ok') { sent += 1; return true; }
            if (result.kind === 'signedout') { state.signedOut = true; return false; }
            return result.kind === 'refused';  // a retry: the connection is down, stop here
          });
        });
      });
      return chain;
    }).catch(function (error) {
      if (window.console) { console.warn('outbox:', error); }
    }).then(function () {
      return store.all().then(function (records) { state.records = records; });
    }).catch(function () { /* keep the last known records */ }).then(function () {
      state.flushing = false;
      render();
      if (sent) {
        var refresh = document.getElementById('tablet-refresh');
        if (refresh) { refresh.click(); }
      }
    });
  }

  // ---- drawing ------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function mine() {
    return state.records.filter(function (r) { return r.user === state.user; });
  }

  function render() {
    if (!state.root) { return; }
    var pending = mine().filter(function (r) { return r.status === 'pending'; });
    var refused = mine().filter(function (r) { return r.status === 'refused'; });
    var others = state.records.filter(function (r) { return r.user !== state.user; });
    var badge = document.getElementById('tablet-outbox-badge');
    if (badge) {
      badge.textContent = String(pending.length);
      badge.setAttribute('data-count', String(pending.length));
      badge.className = 'badge rounded-pill tablet-badge' + (pending.length ? ' has-items' : '');
    }
    var net = document.getElementById('tablet-network');
    if (net) {
      var online = navigator.onLine;
      net.textContent = online ? net.getAttribute('data-online') : net.getAttribute('data-offline');
      net.className = 'tablet-network ' + (online ? 'is-online' : 'is-offline');
    }
    var box = document.getElementById('tablet-refused');
    var boxKey = (state.signedOut ? 'out|' : '') + refused.map(function (r) {
      return r.id;
    }).join('|');
    if (box && box.getAttribute('data-og-drawn') !== boxKey) {
      box.setAttribute('data-og-drawn', boxKey);
      box.textContent = '';
      if (state.signedOut) {
        box.appendChild(el('div', { class: 'alert alert-warning tablet-alert', role: 'alert' }, [
          el('span', { text: tx('signed_out') + ' ' }),
          el('a', { href: '/login?next=/tablet', class: 'btn btn-warning tablet-btn',
            text: '→' }),
        ]));
      }
      refused.forEach(function (r) {
        box.appendChild(el('div', { class: 'alert alert-danger tablet-alert', role: 'alert',
          'data-og-refused': r.id }, [
          el('div', {}, [el('strong', { text: tx('refused') + ' · ' + r.label }),
            el('div', { text: r.error || '' })]),
          el('button', { type: 'button', class: 'btn btn-outline-danger tablet-btn',
            'data-og-dismiss': r.id, text: tx('dismiss') }),
        ]));
      });
    }
    var list = document.getElementById('tablet-outbox-list');
    var listKey = pending.map(function (r) { return r.id + ':' + r.attempts; }).join('|')
      + '#' + others.length;
    if (list) { list.hidden = !state.showList || !(pending.length || others.length); }
    if (list && list.getAttribute('data-og-drawn') !== listKey) {
      list.setAttribute('data-og-drawn', listKey);
      list.textContent = '';
      pending.forEach(function (r) {
        var line = r.label + ' · ' + tx('queued') + (r.attempts ? ' · ' + tx('attempts') + ' '
          + r.attempts + (r.lastError ? ' (' + r.lastError + ')' : '') : '');
        list.appendChild(el('div', { class: 'tablet-outbox-item', text: line }));
      });
      if (others.length) {
        list.appendChild(el('div', { class: 'tablet-outbox-item',
          text: others.length + ' ' + tx('other_user') }));
      }
    }
    markPending(pending);
  }

  function markPending(pending) {
    var cases = {};
    pending.forEach(function (r) { if (r.caseId) { cases[r.caseId] = true; } });
    state.root.querySelectorAll('.tablet-card').forEach(function (card) {
      card.classList.toggle('is-pending', !!cases[card.getAttribute('data-og-case')]);
    });
    var waiting = false;
    state.root.querySelectorAll('[data-og-action]').forEach(function (button) {
      var busy = !!cases[button.getAttribute('data-og-case')];
      button.disabled = busy;
      waiting = waiting || busy;
    });
    var note = document.getElementById('tablet-verify-reason-message');
    if (note && waiting && !note.getAttribute('data-og-note')) {
      note.className = 'tablet-form-message text-warning';
      note.textContent = tx('pending_here');
    }
  }

  function formMessage(id, text, tone) {
    var node = document.getElementById(id);
    if (!node) { return; }
    node.className = 'tablet-form-message text-' + tone;
    node.setAttribute('data-og-note', '1');
    node.textContent = text;
  }

  // ---- photos chosen before an action --------------------------------------------------------
  function draftsOf(key) {
    if (!state.drafts[key]) { state.drafts[key] = []; }
    return state.drafts[key];
  }

  function renderDrafts(picker) {
    var key = picker.getAttribute('data-og-key');
    var list = picker.querySelector('.tablet-drafts');
    if (!list) { return; }
    list.textContent = '';
    draftsOf(key).forEach(function (d) {
      var label = { checking: tx('photo_checking'), ok: tx('photo_ok'),
        waiting: tx('photo_waiting'), bad: tx('photo_bad') }[d.status];
      var item = el('div', { class: 'tablet-draft is-' + d.status, 'data-status': d.status }, [
        el('img', { src: d.url, alt: d.name || '' }),
        el('div', { class: 'tablet-draft-text' }, [
          el('strong', { text: label }),
          el('div', { text: d.status === 'bad' ? d.error : (d.name || '') }),
        ]),
        el('button', { type: 'button', class: 'btn btn-outline-secondary tablet-btn',
          'data-og-remove': d.id, 'data-og-key': key, text: tx('remove') }),
      ]);
      list.appendChild(item);
    });
  }

  function pickerFor(key) {
    return state.root && state.root.querySelector('[data-og-key="' + key + '"]');
  }

  function addPhotos(picker, files) {
    var key = picker.getAttribute('data-og-key');
    Array.prototype.forEach.call(files, function (file) {
      var draft = { id: newId(), name: file.name, type: file.type, blob: file,
        url: URL.createObjectURL(file), status: 'checking' };
      draftsOf(key).push(draft);
      var done = function (result) {
        if (result.kind === 'ok') {
          draft.status = 'ok';
          draft.sha256 = result.json.sha256;
          draft.mime = result.json.mime;
        } else if (result.kind === 'refused') {
          draft.status = 'bad';
          draft.error = result.message;
        } else {
          draft.status = 'waiting';
        }
        var current = pickerFor(key);
        if (current) { renderDrafts(current); }
      };
      if (navigator.onLine) { uploadBlob(file, file.name).then(done); } else { done({}); }
    });
    renderDrafts(picker);
  }

  /* The photos of a form, split into those the server has (attachments) and those still to
   * upload (photos, kept as blobs in the outbox). Refused photos are left out. */
  function takeDrafts(key) {
    var drafts = draftsOf(key);
    state.drafts[key] = [];
    var picker = pickerFor(key);
    if (picker) { renderDrafts(picker); }
    return {
      attachments: drafts.filter(function (d) { return d.status === 'ok'; }).map(function (d) {
        return { sha256: d.sha256, mime: d.mime };
      }),
      photos: drafts.filter(function (d) {
        return d.status === 'checking' || d.status === 'waiting';
      }).map(function (d) { return { name: d.name, type: d.type, blob: d.blob }; }),
    };
  }

  function preparePickers() {
    state.root.querySelectorAll('[data-og-photos]:not([data-og-ready])').forEach(function (p) {
      var form = p.getAttribute('data-og-photos');
      var action = form === 'verify' ? state.root.querySelector('[data-og-action]') : null;
      var key = form + ':' + (action ? action.getAttribute('data-og-case') : '');
      var inputId = p.id + '-input';
      p.setAttribute('data-og-key', key);
      p.setAttribute('data-og-ready', '1');
      var input = el('input', { type: 'file', accept: 'image/*', capture: 'environment',
        id: inputId, class: 'form-control tablet-file' });
      p.appendChild(el('label', { for: inputId, class: 'tablet-file-label',
        text: p.getAttribute('data-og-label') }));
      p.appendChild(input);
      p.appendChild(el('div', { class: 'tablet-drafts' }));
      input.addEventListener('change', function () {
        addPhotos(p, input.files);
        input.value = '';
      });
      renderDrafts(p);
    });
  }

  // ---- actions ------------------------------------------------------------------------------
  function verify(button) {
    var caseId = button.getAttribute('data-og-case');
    var action = button.getAttribute('data-og-action');
    var field = document.getElementById('tablet-verify-reason');
    var text = field ? field.value.trim() : '';
    if (action === 'verify_fail' && !text) {
      formMessage('tablet-verify-reason-message', tx('reason_needed'), 'danger');
      if (field) { field.focus(); }
      return;
    }
    var files = takeDrafts('verify:' + caseId);
    var body = { action: action, origin: 'tablet' };
    if (text) { body[action === 'verify_fail' ? 'reason' : 'note'] = text; }
    var rec = { kind: 'transition', caseId: caseId, path: '/api/v1/cases/' + caseId
      + '/transitions', body: body, attachments: files.attachments, photos: files.photos,
      label: tx(action) + ' · ' + (button.getAttribute('data-og-title') || caseId) };
    enqueue(rec).then(function () {
      if (field) { field.value = ''; }
      formMessage('tablet-verify-reason-message', tx('queued'), 'success');
    });
  }

  function report() {
    var category = document.getElementById('tablet-report-category');
    var note = document.getElementById('tablet-report-note');
    if (!category || !category.value) {
      formMessage('tablet-report-message', tx('category_needed'), 'danger');
      return;
    }
    if (!state.point) {
      formMessage('tablet-report-message', tx('point_needed'), 'danger');
      return;
    }
    var files = takeDrafts('report:');
    var name = category.options[category.selectedIndex].text;
    var body = { category: category.value, lon: state.point.lon, lat: state.point.lat,
      origin: 'tablet' };
    if (note && note.value.trim()) { body.description = note.value.trim(); }
    var rec = { kind: 'report', path: '/api/v1/cases', body: body,
      attachments: files.attachments, photos: files.photos,
      label: tx('report') + ' · ' + name };
    enqueue(rec).then(function () {
      category.value = '';
      if (note) { note.value = ''; }
      formMessage('tablet-report-message', tx('reported'), 'success');
    });
  }

  // ---- where a new problem is -----------------------------------------------------------------
  function reportGraph() {
    return document.querySelector('#tablet-report-map .js-plotly-plot');
  }

  function setPoint(lon, lat, source) {
    state.point = { lon: Math.round(lon * 1e6) / 1e6, lat: Math.round(lat * 1e6) / 1e6,
      source: source };
    var shown = document.getElementById('tablet-report-point');
    if (shown) {
      shown.textContent = tx(source) + ': ' + state.point.lon.toFixed(6) + ', '
        + state.point.lat.toFixed(6);
      shown.setAttribute('data-lon', String(state.point.lon));
      shown.setAttribute('data-lat', String(state.point.lat));
    }
    var gd = reportGraph();
    if (gd && window.Plotly && gd.data && gd.data.length > 1) {
      window.Plotly.restyle(gd, { lon: [[state.point.lon]], lat: [[state.point.lat]] }, [1]);
    }
  }

  function locate() {
    if (!navigator.geolocation) {
      formMessage('tablet-report-message', tx('gps_failed'), 'warning');
      return;
    }
    navigator.geolocation.getCurrentPosition(function (pos) {
      setPoint(pos.coords.longitude, pos.coords.latitude, 'gps');
    }, function () {
      formMessage('tablet-report-message', tx('gps_failed'), 'warning');
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  function bindMap() {
    var gd = reportGraph();
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    var map = sub && sub.map;
    if (!map || map._ogBound) { return; }
    map._ogBound = true;
    map.on('click', function (e) { setPoint(e.lngLat.lng, e.lngLat.lat, 'map'); });
  }

  function showPane(name) {
    state.root.querySelectorAll('[data-og-pane]').forEach(function (pane) {
      pane.hidden = pane.getAttribute('data-og-pane') !== name;
    });
    state.root.querySelectorAll('[data-og-tab]').forEach(function (tab) {
      var on = tab.getAttribute('data-og-tab') === name;
      tab.classList.toggle('is-active', on);
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    if (name === 'report') {
      var gd = reportGraph();
      if (gd && window.Plotly) { window.Plotly.Plots.resize(gd); }
      if (!state.point) { locate(); }
    }
  }

  // ---- wiring -------------------------------------------------------------------------------
  function onClick(event) {
    if (!state.root || !state.root.contains(event.target)) { return; }
    var target = event.target.closest('button, [data-og-tab]');
    if (!target) { return; }
    if (target.classList.contains('tablet-card')) {
      state.root.querySelectorAll('.tablet-card.is-selected').forEach(function (c) {
        c.classList.remove('is-selected');
      });
      target.classList.add('is-selected');
      return;
    }
    if (target.hasAttribute('data-og-action')) { verify(target); return; }
    if (target.hasAttribute('data-og-report')) { report(); return; }
    if (target.hasAttribute('data-og-tab')) { showPane(target.getAttribute('data-og-tab')); return; }
    if (target.id === 'tablet-report-locate') { locate(); return; }
    if (target.id === 'tablet-outbox') {
      state.showList = !state.showList;
      target.setAttribute('aria-expanded', state.showList ? 'true' : 'false');
      render();
      flush(true);
      return;
    }
    if (target.hasAttribute('data-og-dismiss')) {
      var id = target.getAttribute('data-og-dismiss');
      store.del(id).then(function () {
        state.records = state.records.filter(function (r) { return r.id !== id; });
        render();
      });
      return;
    }
    if (target.hasAttribute('data-og-remove')) {
      var key = target.getAttribute('data-og-key');
      var drop = target.getAttribute('data-og-remove');
      state.drafts[key] = draftsOf(key).filter(function (d) { return d.id !== drop; });
      var picker = pickerFor(key);
      if (picker) { renderDrafts(picker); }
    }
  }

  function onChange(event) {
    if (event.target && event.target.id === 'tablet-report-grid' && event.target.value) {
      var parts = event.target.value.split(',');
      setPoint(parseFloat(parts[0]), parseFloat(parts[1]), 'grid');
    }
  }

  function attach(root) {
    state.root = root;
    state.user = root.getAttribute('data-og-user');
    state.lang = root.getAttribute('data-og-lang') || 'zh-CN';
    state.signedOut = false;
    try { state.texts = JSON.parse(root.getAttribute('data-og-i18n') || '{}'); } catch (e) {
      state.texts = {};
    }
    if (state.observer) { state.observer.disconnect(); }
    var pending = null;
    state.observer = new MutationObserver(function () {
      if (pending) { return; }
      pending = setTimeout(function () {
        pending = null;
        if (state.root) { preparePickers(); render(); bindMap(); }
      }, 50);
    });
    state.observer.observe(root, { childList: true, subtree: true });
    preparePickers();
    store.all().then(function (records) { state.records = records; render(); flush(true); },
      function () { render(); });
  }

  function tick() {
    var root = document.getElementById('tablet-root');
    if (root !== state.root) {
      if (root) { attach(root); } else {
        state.root = null;
        if (state.observer) { state.observer.disconnect(); state.observer = null; }
      }
      return;
    }
    if (!root) { return; }
    bindMap();
    render();
    if (navigator.onLine) { flush(false); }
  }

  document.addEventListener('click', onClick);
  document.addEventListener('change', onChange);
  window.addEventListener('online', function () {
    state.records.forEach(function (r) { r.nextAt = 0; });
    render();
    flush(true);
  });
  window.addEventListener('offline', render);
  setInterval(tick, TICK_MS);
  function watchPage() {
    // Dash draws pages after the document loads: notice the tablet's root when it arrives.
    var soon = null;
    new MutationObserver(function () {
      if (soon) { return; }
      soon = setTimeout(function () {
        soon = null;
        if (document.getElementById('tablet-root') !== state.root) { tick(); }
      }, 30);
    }).observe(document.body, { childList: true, subtree: true });
    tick();
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', watchPage);
  } else {
    watchPage();
  }

  // For the tests and the curious: what waits, without reaching into IndexedDB by hand.
  window.ogTabletOutbox = {
    records: function () { return store.all(); },
    flush: function () { return flush(true); },
  };
}());
