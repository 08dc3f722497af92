"""Generator of notebooks 50_deploy and 60_demo (run: python -m minutes.devtools.notebooks_serve)."""
from __future__ import annotations

from pathlib import Path

from minutes import REPO_ROOT
from minutes.devtools.nbwrite import write_notebook

DEPLOY_INTRO = """\
Deploys the question-answering service, checks it answers, and measures how fast.

**Where it runs.** On the `local` and `ci` profiles (`infra.mode: plan`) the Ansible playbook
`ansible/deploy_service.yml` runs against this machine: it starts the MLflow server if none
answers, then the FastAPI service (`python -m minutes.serve`, uvicorn on loopback) as background
processes with pid files and logs under `<work_dir>/serve/`, and waits on `/readyz`. On the
`chameleon` profile (`infra.mode: apply`) the same playbook builds the API image on the KVM node
and runs one container per registry alias (`serve.deployments`: production and staging) with
docker compose, next to the platform's MLflow, Postgres and MinIO.

The service stays up for 60_demo; notebook 99_teardown stops it (`local_services.stop_all`)."""

DEPLOY_CELLS: list[tuple[str, str]] = [
    ("md", """## 1. Inputs

The service answers from the ETL utterances (`etl/utterances.jsonl`, what answers cite) and the
live FAISS index (`index/CURRENT`). The generator comes from the MLflow registry: the version
holding the alias `serve.model_alias`; with none, answers are extractive (the best-supported
utterances of the retrieved passages)."""),
    ("code", """import pandas as pd
from minutes.serve import deploy, loadtest, report, smoke
from minutes.serve.client import Client
from minutes.infra.configure import as_list

pd.DataFrame(deploy.inputs(params))"""),
    ("md", """## 2. Deploy with Ansible

`minutes.serve.deploy.deploy` runs the playbook through ansible-runner
(`minutes.infra.ansible.run_playbook`). The ingest token (`serve.ingest_token_env`) is taken
from this kernel's environment, or made for this session when unset; it reaches the service
through the environment only, never a file or this report."""),
    ("code", """dep = deploy.deploy(params, as_list(overrides))
display(pd.DataFrame(dep.result.host_table()))
pd.DataFrame(dep.table())"""),
    ("md", """On `chameleon` the compose file below is what the node runs; here it is rendered from the
role's template so the plan can be read, and the playbook's compose mode is syntax-checked."""),
    ("code", """print(deploy.render_template('docker-compose.yml.j2', params))
print(deploy.syntax_check('compose'))"""),
    ("md", """## 3. Smoke test

Every route once, and bad input (empty question, unknown meeting, k out of range, invalid JSON,
ingest without a token) refused with the promised 4xx. The question is a real QMSum query of
the evaluation split, asked within its meeting."""),
    ("code", """payloads = loadtest.suite_payloads(params)
sample = payloads[-1]  # the load test's warm-up asks it again; its measured requests do not
rows = []
for name, base in dep.urls.items():  # one deployment locally; production and staging on Chameleon
    Client(base).wait_ready(300)
    rows += [{'deployment': name, **r} for r in smoke.smoke_test(Client(base), sample['question'], sample['meeting_id'])]
smoke.check(rows)
url = dep.urls.get(params.serve.model_alias) or next(iter(dep.urls.values()))
ready = Client(url).readyz()
print(ready)
pd.DataFrame(rows)"""),
    ("md", """## 4. Load test

`serve.loadtest.requests` requests to `/ask` at `serve.loadtest.concurrency` (one keep-alive
connection per worker thread, latency measured at the client), each a different real QMSum
question asked within its meeting while the data has enough of them (`repeated_questions`
counts the rest: the service remembers question vectors, so a repeat skips the embedding).
First forced extractive, then, when a model holds the alias, forced generative
(`generative_requests` at `generative_concurrency`). Targets for extractive `/ask` on a 2-core
machine: p95 ≤ 50 ms, ≥ 50 requests/s, no errors. Questions are embedded by
`serve.query_backend` (local: the int8 export of the index's model, see notebook 20)."""),
    ("code", """reports = loadtest.run_suite(params, url, payloads, generative=ready['mode'] == 'generative')
if ready['mode'] != 'generative':
    print(f"generative: no version holds {params.serve.model_alias!r}, so this deployment answers extractively; "
          "`python -m minutes.bench serve` measures the newest registered version")
pd.DataFrame([r.summary() for r in reports]).set_index('test')"""),
    ("code", """pd.DataFrame(loadtest.targets(params, reports[0].summary()))"""),
    ("code", """fig = loadtest.plot(reports)"""),
    ("md", """## 5. Record

`loadtest.json` and `loadtest.png` in `<work_dir>/serve/`, the figures in this run's `run.json`,
and a run in the MLflow experiment `serve.mlflow_experiment`."""),
    ("code", """figs = loadtest.figures(reports)
paths = report.save(params, reports, fig, {'url': url, 'ready': ready})
run_id = report.log_mlflow(params, figs, paths, {'mode': ready['mode'], 'alias': params.serve.model_alias})
ctx.record(**figs, serve_url=url, serve_mode=ready['mode'], model_version=ready['model_version'],
           index_chunks=ready['index_chunks'], smoke_checks=len(rows), mlflow_run_id=run_id)
print(f'The service is running at {url}/ (API docs at {url}/docs); notebook 99_teardown stops it.')"""),
]

DEMO_INTRO = """\
A small interactive front end to the deployed service (notebook 50): type a question, optionally
pick a meeting, read the answer with the transcript passages it cites (speaker and time), or ask
for a meeting's minutes.

**Where it runs.** Interactively on Chameleon's JupyterHub against the deployed container; under
papermill (local/ci) the notebook also presses the buttons in code, so the archived report shows
a real answer and real minutes. The service is the one 50_deploy left running."""

DEMO_CELLS: list[tuple[str, str]] = [
    ("md", """## 1. Connect

The service's URL comes from the profile (`serve.host`, `serve.port`); `/readyz` says whether it
answers generatively (a model holds the alias) or extractively."""),
    ("code", """import pandas as pd
from IPython.display import HTML, Markdown, display
from minutes.serve import demo
from minutes.serve.client import Client, load_payloads
from minutes.serve.deploy import service_url

client = Client(service_url(params))
ready = client.wait_ready(120)
print(ready)
pd.DataFrame(client.meetings()).head(20)"""),
    ("md", """## 2. Ask

The widgets below: question box, meeting picker, **Ask** and **Minutes**. Clicking them calls
`POST /ask` and `POST /minutes`."""),
    ("code", """ui = demo.build_ui(client)
display(ui.box)"""),
    ("md", """A scripted query, pressed in code through the same callback (an evaluation question, within
its meeting), so the report shows the answer panel's content:"""),
    ("code", """q = load_payloads(params, n=1)[0]
answer = ui.submit(q['question'], q['meeting_id'])
print('Q:', q['question'])
display(HTML(ui.output))"""),
    ("md", """## 3. Minutes

`POST /minutes` for the same meeting: a summary, decisions and action items, each citing the turn
it rests on (`[speaker, time, turn]`); also available as JSON."""),
    ("code", """minutes_md = client.minutes(q['meeting_id'], 'markdown')
display(Markdown(minutes_md))"""),
    ("code", """ctx.record(demo_question=q['question'], demo_meeting=q['meeting_id'], demo_mode=answer['mode'],
           demo_sources=len(answer['sources']), demo_latency_ms=answer['latency_ms'],
           demo_minutes_lines=len(minutes_md.splitlines()))"""),
]


def write_all(notebooks_dir: Path = REPO_ROOT / "notebooks") -> list[Path]:
    return [
        write_notebook(notebooks_dir / "50_deploy.ipynb", "50 · Deploy the service, smoke test, load test",
                       DEPLOY_INTRO, DEPLOY_CELLS),
        write_notebook(notebooks_dir / "60_demo.ipynb", "60 · Demo: ask the meetings", DEMO_INTRO, DEMO_CELLS),
    ]


if __name__ == "__main__":
    for p in write_all():
        print(p)
