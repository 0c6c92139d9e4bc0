#!/usr/bin/env camlab
local ms = {}
for i, m in ipairs({"gradcam", "gradcam++"}) do ms[#ms + 1] = m end
--[[ a long
comment ]] local s = [==[ a long "string" with ]] inside ]==]
local t = 'it''s' .. "\"quoted\""
experiment { name = "loops", methods = ms, data = { path = "d" }, models = { { name = "m", file = "m.pt" } } }
