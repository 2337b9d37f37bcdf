-- wrk script: POST the body in $BODY_FILE with Content-Type $BODY_TYPE (multipart group creation).
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("BODY_TYPE")
