// Table 1's experiments live with the code the renderer may import too (api/shared/table1.ts); re-exported here.
export * from "../api/shared/table1";
