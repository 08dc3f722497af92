"""After deployment: what the service answered and what users said about it (issue 14).

`answer_log` stores every /ask and /minutes answer and the feedback on it (SQLite locally);
`records` turns a response into the row to log; `feedback` checks a POST /feedback body against
the stored answer. Nothing here imports the HTTP app, so tools and notebooks can read the log.
"""
