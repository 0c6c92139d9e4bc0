-- with allow_unsafe the full standard library is there
experiment { name = os.getenv("CAMLAB_LUA_TEST_NAME") or "unset" }
