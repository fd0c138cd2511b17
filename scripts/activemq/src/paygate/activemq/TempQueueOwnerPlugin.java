package paygate.activemq;

import org.apache.activemq.broker.Broker;
import org.apache.activemq.broker.BrokerFilter;
import org.apache.activemq.broker.BrokerPlugin;
import org.apache.activemq.broker.ConnectionContext;
import org.apache.activemq.broker.region.Subscription;
import org.apache.activemq.command.ActiveMQDestination;
import org.apache.activemq.command.ActiveMQTempDestination;
import org.apache.activemq.command.ConsumerInfo;

/**
 * Lets only the connection that created a temporary queue or topic consume from it.
 *
 * <p>ActiveMQ 5.x does not enforce this itself: when another connection subscribes to
 * {@code /remote-temp-queue/ID:...}, the broker hands the destination over to that connection
 * (TempQueue.addSubscription "changes ownership"), and only the JMS client library refuses it.
 * A STOMP client with read rights on temporary destinations (every client that needs a reply
 * queue) could therefore take another client's replies, whose names travel in clear in the
 * {@code reply-to} header. This filter refuses such a subscription before it reaches the region.
 */
public final class TempQueueOwnerPlugin implements BrokerPlugin {
    @Override
    public Broker installPlugin(Broker next) {
        return new BrokerFilter(next) {
            @Override
            public Subscription addConsumer(ConnectionContext context, ConsumerInfo info) throws Exception {
                // A network bridge of a broker network consumes on behalf of remote clients.
                if (!context.isNetworkConnection()) refuseForeign(info);
                return super.addConsumer(context, info);
            }
        };
    }

    private static void refuseForeign(ConsumerInfo info) {
        ActiveMQDestination destination = info.getDestination();
        if (destination == null) return;
        ActiveMQDestination[] parts = destination.isComposite()
            ? destination.getCompositeDestinations()
            : new ActiveMQDestination[] {destination};
        String consumer = info.getConsumerId().getConnectionId();
        for (ActiveMQDestination part : parts) {
            if (!part.isTemporary()) continue;
            String owner = ((ActiveMQTempDestination) part).getConnectionId();
            if (owner == null || !owner.equals(consumer)) {
                throw new SecurityException("only the connection that created " + part.getQualifiedName() + " may consume from it");
            }
        }
    }
}
