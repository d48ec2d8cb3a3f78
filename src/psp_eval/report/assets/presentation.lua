--[[
Reader-facing tidying for the embedded renderer.

Code blocks with class `cell-code` are dropped: reports show results, not code (Quarto hides
them with `echo: false`). In HTML each table is wrapped in `div.table-scroll`, so a wide table
scrolls sideways on a phone instead of widening the whole page.
]]

function CodeBlock(block)
  if block.classes:includes("cell-code") then
    return {}
  end
end

function Table(table)
  if FORMAT:match("html") then
    return pandoc.Div(table, pandoc.Attr("", { "table-scroll" }))
  end
end
