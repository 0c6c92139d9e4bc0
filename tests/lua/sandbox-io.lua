-- io is not opened in the sandbox: line 3 calls a nil field
local ok = true
local f = io.open("/etc/passwd")
