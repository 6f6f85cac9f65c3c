// Deliberately broken: a missing semicolon.
module broken (input wire clk, output wire q);
  assign q = clk
endmodule
