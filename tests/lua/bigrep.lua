-- one huge allocation is refused at once
local s = ("x"):rep(1 << 30)
