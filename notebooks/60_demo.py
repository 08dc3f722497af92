# %% [markdown]
# # 60 · Demo: ask the meetings
#
# A small interactive front end to the deployed service (notebook 50): type a question, optionally
# pick a meeting, read the answer with the transcript passages it cites (speaker and time), or ask
# for a meeting's minutes.
#
# **Where it runs.** Interactively on Chameleon's JupyterHub against the deployed container; under
# papermill (local/ci) the notebook also presses the buttons in code, so the archived report shows
# a real answer and real minutes. The service is the one 50_deploy left running.

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('60_demo', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. Connect
#
# The service's URL comes from the profile (`serve.host`, `serve.port`); `/readyz` says whether it
# answers generatively (a model holds the alias) or extractively.

# %%
import pandas as pd
from IPython.display import HTML, Markdown, display
from minutes.serve import demo
from minutes.serve.client import Client
from minutes.serve.payloads import load_payloads
from minutes.serve.deploy import service_url

client = Client(service_url(params))
ready = client.wait_ready(120)
print(ready)
pd.DataFrame(client.meetings()).head(20)

# %% [markdown]
# ## 2. Ask
#
# The widgets below: question box, meeting picker, **Ask** and **Minutes**. Clicking them calls
# `POST /ask` and `POST /minutes`.

# %%
ui = demo.build_ui(client)
display(ui.box)

# %% [markdown]
# A scripted query, pressed in code through the same callback (an evaluation question, within
# its meeting), so the report shows the answer panel's content:

# %%
q = load_payloads(params, n=1)[0]
answer = ui.submit(q['question'], q['meeting_id'])
print('Q:', q['question'])
display(HTML(ui.output))

# %% [markdown]
# ## 3. Minutes
#
# `POST /minutes` for the same meeting: a summary, decisions and action items, each citing the turn
# it rests on (`[speaker, time, turn]`); also available as JSON.

# %%
minutes_md = client.minutes(q['meeting_id'], 'markdown')
display(Markdown(minutes_md))

# %%
ctx.record(demo_question=q['question'], demo_meeting=q['meeting_id'], demo_mode=answer['mode'],
           demo_sources=len(answer['sources']), demo_latency_ms=answer['latency_ms'],
           demo_minutes_lines=len(minutes_md.splitlines()))
