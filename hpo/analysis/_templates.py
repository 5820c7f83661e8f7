"""Jinja templates of the dashboard (:mod:`hpo.analysis.dashboard`); Flask autoescapes them."""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }} - scaletune</title>
<script src="{{ url_for('plotly_js') }}"></script>
<style>
 body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; }
 h1 { font-size: 1.3em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
 .meta { color: #555; font-size: .9em; }
 .cards span { display: inline-block; margin: .2em .8em .2em 0; padding: .3em .6em;
               background: #f2f4f7; border-radius: 4px; }
 .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr));
         gap: .8em; }
 .fig { border: 1px solid #e3e3e3; min-height: 120px; padding: 4px; color: #777; }
 table { border-collapse: collapse; font-size: .85em; }
 th, td { border-bottom: 1px solid #e3e3e3; padding: .25em .6em; text-align: right; }
 th a { color: #224; text-decoration: none; } td.l, th.l { text-align: left; }
 .completed { color: #2ca02c; } .failed { color: #d62728; } .stopped { color: #ff7f0e; }
 .paused { color: #9467bd; } .promoted { color: #1f77b4; } .running { color: #17becf; }
 pre { background: #fbf3f3; padding: .4em; white-space: pre-wrap; margin: .2em 0 .8em; }
 #live { float: right; font-size: .8em; color: #777; }
</style></head>
<body>
<div id="live">connecting...</div>
<h1>{{ title }}</h1>
<div class="meta">{{ subtitle }}</div>
{% for id, html in blocks.items() %}<div id="{{ id }}">{{ html }}</div>{% endfor %}
<div class="grid">
{% for kind in figures %}<div class="fig" id="fig-{{ kind }}">loading {{ kind }}...</div>
{% endfor %}</div>
{% for id, html in after.items() %}<div id="{{ id }}">{{ html }}</div>{% endfor %}
<script>
const state = {version: -1};
async function poll() {
  const q = new URLSearchParams(location.search); q.set("v", state.version);
  try {
    const s = await (await fetch("{{ api }}?" + q)).json();
    if (s.version !== state.version) {
      state.version = s.version;
      for (const [id, html] of Object.entries(s.html)) {
        document.getElementById(id).innerHTML = html;
      }
      for (const [kind, fig] of Object.entries(s.figures)) {
        const el = document.getElementById("fig-" + kind);
        if (fig.error) { Plotly.purge(el); el.textContent = fig.error; }
        else {
          if (!el.data) el.textContent = "";  // drop a "computing..." note before the first draw
          Plotly.react(el, fig.data, fig.layout, {responsive: true});
        }
      }
    }
    document.getElementById("live").textContent =
      "live - " + s.events + " events - checked " + new Date().toLocaleTimeString();
  } catch (e) { document.getElementById("live").textContent = "disconnected (" + e + ")"; }
  setTimeout(poll, {{ interval_ms }});
}
poll();
</script></body></html>"""

SUMMARY = """<div class="cards">
<span>trials <b id="trial-count">{{ n }}</b></span>
{% for status, count in counts.items() if count %}<span class="{{ status }}">{{ status }}
<b id="count-{{ status }}">{{ count }}</b></span>{% endfor %}
<span>budget used <b>{{ '%.4g' % budget }}</b></span>
<span>cost used <b>{{ '%.4g' % cost }}</b></span>
{% if best %}<span>best <a href="{{ url_for('trial_page', trial_id=best.trial) }}">trial
{{ best.trial }}</a>: {{ metric }} = <b>{{ '%.6g' % best.value }}</b> at budget
{{ best.budget }}</span>{% endif %}</div>
<div class="meta">history against:
{% for axis in axes %}{% if axis == x %}<b>{{ axis }}</b>{% else
%}<a href="?{{ query(x=axis) }}">{{ axis }}</a>{% endif %}
{% endfor %}</div>"""

TABLE = """<h2>Trials ({{ rows|length }}{% if hidden %} of {{ total }};
<a href="?{{ query(limit=total) }}">show all</a>{% endif %})</h2>
<table id="trials"><thead><tr>
{% for col, href, arrow in headers %}<th class="{{ 'l' if col in left else '' }}"><a
 href="?{{ href }}">{{ col }}{{ arrow }}</a></th>
{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr data-trial="{{ row.trial }}">{% for col, _, _ in headers %}
{%- set v = row[col] %}<td class="{{ 'l' if col in left else '' }}
 {{ v if col in ('status', 'decision') else '' }}">{% if col == 'trial'
 %}<a href="{{ url_for('trial_page', trial_id=v) }}">{{ v }}</a>{% else %}{{ fmt(v) }}{% endif
 %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>"""

FAILURES = """<h2>Failures ({{ failed|length }})</h2>
{% for row in failed %}<div><a href="{{ url_for('trial_page', trial_id=row.trial) }}">trial
{{ row.trial }}</a> at budget {{ row.budget }}:</div>
<pre>{{ row.reason or 'no reason recorded' }}</pre>
{% else %}<div class="meta">no failed trial</div>{% endfor %}"""

TRIAL = """<div class="meta"><a href="{{ url_for('index') }}">&larr; all trials</a></div>
<div class="cards">
<span class="{{ row.status }}">status <b id="trial-status">{{ row.status }}</b></span>
<span class="{{ row.decision }}">decision <b>{{ row.decision }}</b></span>
<span>budget <b>{{ row.budget }}</b></span>
<span>{{ metric }} <b>{{ fmt(row.value) }}</b></span>
<span>cost <b>{{ fmt(row.cost) }}</b></span><span>reports <b>{{ row.reports }}</b></span>
<span>promotions <b>{{ row.promotions }}</b>{% if promotions %}
(to {{ promotions|join(', ') }}){% endif %}</span>
{% if row.parent is not none %}<span>parent
<a href="{{ url_for('trial_page', trial_id=row.parent) }}">{{ row.parent }}</a></span>{% endif %}
</div>
{% if row.reason %}<h2>Reason</h2><pre>{{ row.reason }}</pre>{% endif %}
<h2>Configuration</h2><table>{% for k, v in row.config.items() %}
<tr><td class="l">{{ k }}</td><td class="l">{{ v }}</td></tr>{% endfor %}</table>"""

REPORTS = """<h2>Reports ({{ obs|length }})</h2><table><thead><tr><th>step</th>
<th>budget</th><th>verdict</th><th>cost</th><th class="l">time</th>
{% for m in metrics %}<th>{{ m }}</th>{% endfor %}</tr></thead><tbody>
{% for o, verdict in obs %}<tr><td>{{ o.step }}</td><td>{{ o.budget }}</td>
<td>{{ verdict }}</td><td>{{ fmt(o.cost) }}</td><td class="l">{{ when(o.time) }}</td>
{% for m in metrics %}<td>{{ fmt(o.metrics.get(m)) }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>"""
