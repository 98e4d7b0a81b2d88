-- wrk script: POST /v1/auth/login for one account (EMAIL and PASSWORD from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("EMAIL"), os.getenv("PASSWORD"))
