--[[
Table column widths for the PDF, in both engines.

Pandoc gives a pipe table whose lines are long fixed relative column widths, and Typst keeps
them even where one word is wider than its column, printing it over the next column. Default
widths let Typst size each column to its content and wrap at spaces, within the page.
]]

function Table(tbl)
  if FORMAT:match("typst") then
    for i, spec in ipairs(tbl.colspecs) do
      tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
    end
    return tbl
  end
end
