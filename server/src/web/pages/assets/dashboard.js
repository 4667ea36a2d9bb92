// The dashboard (/bureau/): city totals for today and this month, meals per day and per centre
// (echarts, canvas), and the centres' table with their boxes' health. Everything comes from the
// API, filtered by the server to the caller's centres:
//
//   GET /stats/meals?from=&to=&groupBy=centre,day     meals per centre and day (this month)
//   GET /settlement/summary?month=                     elders and subsidy per centre (this month)
//   GET /centres, /districts, /devices                 names, districts, boxes' status
//   optional, each part hidden or falling back when the route answers 404 (or 400):
//   GET /stats/summary?from=&to=&groupBy=centre|day    {rows: [{key, label, meals, distinctElders, subsidisedMeals, amountFen, voids, duplicates}], totals?}
//   GET /stats/health                                  {centres: [{centreId, name, boxes: [{deviceId, lastSeen, online}], silent}]}
//                                                      (also read: devices: [{deviceId, lastSeenAt, online}])
//   GET /stats/welfare                                 {elders: [{elderId, name, centreId, centreName, lastMealDate, mealsInWindow}]}
//                                                      (also read: rows, meals)
(function () {
  'use strict';
  var b = window.bureau;
  var d = b.data;
  var el = b.el;

  /** The first array of an answer (`rows`, `centres`, `elders`...), or the answer if it is one. */
  function listOf(r) {
    if (!r) return null;
    if (Array.isArray(r)) return r;
    var k = Object.keys(r).filter(function (x) { return Array.isArray(r[x]); })[0];
    return k ? r[k] : [];
  }
  /** A summary answer's totals: its own, or the rows added up. */
  function totalsOf(r) {
    if (!r) return null;
    var own = (r.totals && typeof r.totals === 'object' && r.totals) || (r.total && typeof r.total === 'object' && r.total);
    if (own) return own;
    var rows = listOf(r) || [];
    return rows.reduce(function (a, x) {
      a.meals += x.meals || 0; a.distinctElders += x.distinctElders || 0; a.amountFen += x.amountFen || 0;
      return a;
    }, { meals: 0, distinctElders: 0, amountFen: 0 });
  }
  function summary(from, to, groupBy) {
    var q = '/stats/summary?from=' + from + '&to=' + to + (groupBy ? '&groupBy=' + groupBy : '');
    return b.optional(q);
  }
  function set(id, v) { document.getElementById(id).textContent = v; }

  function days(from, to) {
    var out = [];
    var x = new Date(from + 'T00:00:00Z');
    var end = new Date(to + 'T00:00:00Z');
    while (x <= end) { out.push(x.toISOString().slice(0, 10)); x = new Date(x.getTime() + 86400000); }
    return out;
  }

  function chart(id, labels, values, horizontal) {
    var node = document.getElementById(id);
    if (!window.echarts) return;
    var c = window.echarts.init(node, null, { renderer: 'canvas' });
    var cat = { type: 'category', data: labels, axisLabel: { fontSize: 14 } };
    var val = { type: 'value', minInterval: 1, axisLabel: { fontSize: 14 } };
    c.setOption({
      animation: false,
      textStyle: { fontSize: 14 },
      grid: { left: horizontal ? 150 : 50, right: 20, top: 20, bottom: 40 },
      tooltip: { trigger: 'axis' },
      xAxis: horizontal ? val : cat,
      yAxis: horizontal ? cat : val,
      series: [{ name: b.t('ui.chart.meals'), type: horizontal ? 'bar' : 'line', data: values, itemStyle: { color: '#0b5394' }, lineStyle: { width: 3 }, symbolSize: 8, label: { show: horizontal, position: 'right', fontSize: 14 } }],
    });
    window.addEventListener('resize', function () { c.resize(); });
    node.dataset.ready = 'true';
  }

  function health(h) {
    if (!h.devices) return ['grey', b.t('ui.health.noDevice')];
    if (h.offline > 0) return ['bad', b.t('ui.health.offline')];
    if (h.silent) return ['warn', b.t('ui.health.silent')];
    if (h.online === 0) return ['grey', b.t('ui.health.unknown')];
    return ['', b.t('ui.health.ok')];
  }

  function load() {
    var from = d.monthStart, to = d.today;
    return Promise.all([
      b.api('GET', '/stats/meals?from=' + from + '&to=' + to + '&groupBy=centre,day'),
      b.api('GET', '/settlement/summary?month=' + d.month).catch(function () { return null; }),
      b.api('GET', '/districts').catch(function () { return { districts: [] }; }),
      b.api('GET', '/devices').catch(function () { return { devices: [] }; }),
      summary(to, to, 'centre'),
      summary(from, to, 'centre'),
      b.optional('/stats/health'),
      b.optional('/stats/welfare'),
    ]).then(function (r) {
      var meals = r[0], settle = r[1], districts = r[2].districts, devices = r[3].devices;
      var sumToday = r[4], sumMonth = r[5], healthList = listOf(r[6]), welfare = r[7] ? listOf(r[7]) : null;
      var ids = meals.rows.map(function (x) { return x.centreId; }).concat(settle ? settle.centres.map(function (c) { return c.centreId; }) : []);
      return b.centres(ids).then(function (centres) {
        var districtName = {};
        districts.forEach(function (x) { districtName[x.districtId] = x.name; });
        var row = {};
        centres.forEach(function (c) { row[c.centreId] = { c: c, today: 0, month: 0, elders: null, fen: null, devices: 0, online: 0, offline: 0, lastSeen: null, silent: false }; });
        var byDay = {};
        meals.rows.forEach(function (x) {
          var rr = row[x.centreId];
          if (!rr) return;
          rr.month += x.meals;
          if (x.day === to) rr.today += x.meals;
          byDay[x.day] = (byDay[x.day] || 0) + x.meals;
        });
        if (settle) settle.centres.forEach(function (s) { var rr = row[s.centreId]; if (rr) { rr.elders = s.elders; rr.fen = s.totalFen; } });
        (listOf(sumMonth) || []).forEach(function (s) { var rr = row[s.key]; if (rr && typeof s.distinctElders === 'number') rr.elders = s.distinctElders; });
        if (healthList) {
          healthList.forEach(function (h) {
            var rr = row[h.centreId];
            if (!rr) return;
            rr.silent = !!h.silent;
            (h.boxes || h.devices || []).forEach(function (x) {
              var seen = x.lastSeen || x.lastSeenAt;
              rr.devices++; if (x.online) rr.online++; else rr.offline++;
              if (seen && (!rr.lastSeen || seen > rr.lastSeen)) rr.lastSeen = seen;
            });
          });
        } else {
          devices.forEach(function (x) {
            var rr = row[x.centreId];
            if (!rr) return;
            rr.devices++;
            if (x.status === 'online') rr.online++;
            if (x.status === 'offline') rr.offline++;
            if (x.lastSeen && (!rr.lastSeen || x.lastSeen > rr.lastSeen)) rr.lastSeen = x.lastSeen;
          });
        }

        // City totals.
        var todayMeals = 0;
        Object.keys(row).forEach(function (k) { todayMeals += row[k].today; });
        set('today-meals', String(todayMeals));
        set('month-meals', String(meals.total));
        var tt = totalsOf(sumToday), mt = totalsOf(sumMonth);
        set('today-elders', tt ? String(tt.distinctElders) : b.t('ui.none'));
        set('today-amount', tt && typeof tt.amountFen === 'number' ? b.yuan(tt.amountFen) : b.t('ui.none'));
        set('month-elders', mt ? String(mt.distinctElders) : settle ? String(settle.totals.elders) : b.t('ui.none'));
        set('month-amount', settle ? b.yuan(settle.totals.totalFen) : mt && typeof mt.amountFen === 'number' ? b.yuan(mt.amountFen) : b.t('ui.none'));

        var dayList = days(from, to);
        chart('chart-day', dayList.map(function (x) { return x.slice(5); }), dayList.map(function (x) { return byDay[x] || 0; }), false);
        var list = Object.keys(row).map(function (k) { return row[k]; });
        var ranked = list.slice().sort(function (a, c) { return a.month - c.month; });
        document.getElementById('chart-centre').style.height = Math.max(320, ranked.length * 36 + 60) + 'px';
        chart('chart-centre', ranked.map(function (x) { return x.c.name || x.c.centreId; }), ranked.map(function (x) { return x.month; }), true);

        b.fill(document.querySelector('#centre-table tbody'), list.map(function (x) {
          var h = health(x);
          return el('tr', { dataset: { centreId: x.c.centreId } }, [
            el('td', null, [el('a', { href: '/bureau/settlement?centreId=' + encodeURIComponent(x.c.centreId) + '&month=' + d.month + (d.lang === 'en' ? '&lang=en' : '') }, el('strong', null, x.c.name || x.c.centreId)), el('br'), el('span', { className: 'details' }, x.c.centreId)]),
            el('td', null, b.dash(x.c.districtId ? districtName[x.c.districtId] || x.c.districtId : null)),
            el('td', { className: 'num' }, String(x.today)),
            el('td', { className: 'num' }, String(x.month)),
            el('td', { className: 'num' }, b.dash(x.elders)),
            el('td', { className: 'num' }, x.fen === null ? b.t('ui.none') : b.yuan(x.fen)),
            el('td', { className: 'num' }, x.online + ' / ' + x.devices),
            el('td', null, b.when(x.lastSeen)),
            el('td', null, el('span', { className: 'badge ' + h[0] }, h[1])),
          ]);
        }), 9);

        var w = document.getElementById('welfare');
        w.hidden = welfare === null;
        if (welfare !== null) {
          var names = {};
          centres.forEach(function (c) { names[c.centreId] = c.name || c.centreId; });
          b.fill(w.querySelector('tbody'), welfare.map(function (x) {
            var meals = typeof x.mealsInWindow === 'number' ? x.mealsInWindow : x.meals;
            return el('tr', null, [el('td', null, x.elderId), el('td', null, b.dash(x.name)), el('td', null, x.centreName || names[x.centreId] || x.centreId), el('td', null, b.dash(x.lastMealDate)), el('td', { className: 'num' }, b.dash(meals))]);
          }), 5);
        }
        document.body.dataset.loaded = 'true';
      });
    }).catch(b.failed);
  }
  load();
})();
