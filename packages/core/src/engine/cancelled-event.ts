import { encode } from "../codec/codec";

/** The payload of a `cancelled` terminal event. */
export const cancelledEventData = (reason = "requested"): string => encode({ reason });
