-- os is not opened in the sandbox
os.execute("touch /tmp/camlab-lua-sandbox-escaped")
