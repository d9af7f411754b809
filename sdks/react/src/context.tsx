import type { Herald } from "@herald/sdk";
import { createContext, useContext, type ReactNode } from "react";

const HeraldContext = createContext<Herald | null>(null);

export interface HeraldProviderProps {
  /** The client the hooks below use. */
  client: Herald;
  children?: ReactNode;
}

/** Makes a Herald client available to the hooks of the components inside it. */
export function HeraldProvider({ client, children }: HeraldProviderProps) {
  return <HeraldContext.Provider value={client}>{children}</HeraldContext.Provider>;
}

/** The client of the nearest `<HeraldProvider>`. */
export function useHerald(): Herald {
  const client = useContext(HeraldContext);
  if (client === null) throw new Error("Herald hooks need a <HeraldProvider client={…}> around them");
  return client;
}
