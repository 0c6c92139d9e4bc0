-- require (package) is not opened in the sandbox

local lfs = require("lfs")
